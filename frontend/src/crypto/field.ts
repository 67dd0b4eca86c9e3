// BN254's scalar field F_r: the field of Poseidon, of Baby Jubjub's coordinates and of every
// public input. Elements are bigints in [0, r).

export const R = 0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001n;

export const mod = (a: bigint): bigint => ((a % R) + R) % R;
export const add = (a: bigint, b: bigint): bigint => mod(a + b);
export const sub = (a: bigint, b: bigint): bigint => mod(a - b);
export const mul = (a: bigint, b: bigint): bigint => mod(a * b);

export function pow(base: bigint, e: bigint): bigint {
  let out = 1n;
  let b = mod(base);
  while (e > 0n) {
    if (e & 1n) out = mul(out, b);
    b = mul(b, b);
    e >>= 1n;
  }
  return out;
}

/** a⁻¹ (Fermat); a must be non-zero. */
export const inv = (a: bigint): bigint => {
  if (mod(a) === 0n) throw new Error("0 has no inverse");
  return pow(a, R - 2n);
};

/** Parses 0x-hex or decimal, refusing values outside [0, r). */
export function parse(s: string): bigint {
  const v = BigInt(s);
  if (v < 0n || v >= R) throw new Error(`${s} is not a field element`);
  return v;
}

/** `0x` + 64 hex digits, as the Rust crates write field elements. */
export const toHex = (a: bigint): string => "0x" + a.toString(16).padStart(64, "0");
