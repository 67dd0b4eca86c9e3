// Poseidon over BN254, width 3 (circomlib's constants), as `trustml-poseidon` defines it:
//   hash(x): state = [0,0,0]; m = x ‖ 1 (‖ 0 to even length); per pair (a, b):
//            state[1] += a, state[2] += b, permute; output state[0].
//   commit(v, s) = hash(v ‖ s);  compress(d, a, b) = permute([d, a, b])[0].
// The constants are loaded (the Rust crate exports them into frontend/vectors/crypto.json).

import { add, mul, pow } from "./field";

export interface PoseidonParams {
  fullRounds: number;
  partialRounds: number;
  roundConstants: bigint[][]; // [round][lane]
  mds: bigint[][];
}

export function permute(p: PoseidonParams, state: bigint[]): bigint[] {
  let s = state.slice();
  const half = p.fullRounds / 2;
  const rounds = p.fullRounds + p.partialRounds;
  for (let r = 0; r < rounds; r++) {
    s = s.map((x, i) => add(x, p.roundConstants[r][i]));
    const full = r < half || r >= half + p.partialRounds;
    s = s.map((x, i) => (full || i === 0 ? pow(x, 5n) : x));
    s = p.mds.map((row) => row.reduce((acc, m, j) => add(acc, mul(m, s[j])), 0n));
  }
  return s;
}

export function hash(p: PoseidonParams, inputs: bigint[]): bigint {
  const m = [...inputs, 1n];
  if (m.length % 2) m.push(0n);
  let s = [0n, 0n, 0n];
  for (let i = 0; i < m.length; i += 2) {
    s[1] = add(s[1], m[i]);
    s[2] = add(s[2], m[i + 1]);
    s = permute(p, s);
  }
  return s[0];
}

export const commit = (p: PoseidonParams, values: bigint[], salt: bigint): bigint =>
  hash(p, [...values, salt]);

export const compress = (p: PoseidonParams, d: bigint, a: bigint, b: bigint): bigint =>
  permute(p, [d, a, b])[0];
