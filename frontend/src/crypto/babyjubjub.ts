// Baby Jubjub (EIP-2494, twisted Edwards a·x² + y² = 1 + d·x²y² over F_r), the buyer keys
// derived from a wallet signature, and the decryption of a delivery — the same computations as
// `trustml-babyjubjub` and `trustml::market`, checked against frontend/vectors/crypto.json.

import { keccak256, concat, toBytes, hexToBytes } from "viem";
import { add, mul, sub, inv, mod } from "./field";
import { hash, type PoseidonParams } from "./poseidon";

export const A = 168700n;
export const D = 168696n;
export const L = 2736030358979909402780800718157159386076813972158567259200215660948447373041n;
export const BASE8 = {
  x: 5299619240641551281634865583518297030282874472190772894086521144482721001553n,
  y: 16950150798460657717958625567821834550301663161624707787222815936182638968203n,
};

export interface Point {
  x: bigint;
  y: bigint;
}

export function addPoints(p: Point, q: Point): Point {
  const t = mul(D, mul(mul(p.x, q.x), mul(p.y, q.y)));
  return {
    x: mul(add(mul(p.x, q.y), mul(p.y, q.x)), inv(add(1n, t))),
    y: mul(sub(mul(p.y, q.y), mul(A, mul(p.x, q.x))), inv(sub(1n, t))),
  };
}

/** k·P by double-and-add (k ≥ 0). */
export function mulPoint(p: Point, k: bigint): Point {
  let acc: Point = { x: 0n, y: 1n };
  let base = p;
  while (k > 0n) {
    if (k & 1n) acc = addPoints(acc, base);
    base = addPoints(base, base);
    k >>= 1n;
  }
  return acc;
}

export const onCurve = (p: Point): boolean =>
  add(mul(A, mul(p.x, p.x)), mul(p.y, p.y)) === add(1n, mul(D, mul(mul(p.x, p.x), mul(p.y, p.y))));

/** The message a buyer's wallet signs for its key on one marketplace (`market::key_message`). */
export const keyMessage = (chainId: number, market: string): string =>
  `trustml: derive my buyer decryption key\n\nChain ID: ${chainId}\nMarketplace: ${market.toLowerCase()}\n\n` +
  "Signing this sends no transaction. Sign it only on the trustml site: anyone with this signature can decrypt the prompts you buy.";

/**
 * The buyer key of a signature (`market::key_from_signature`): sk = keccak256("trustml/buyer-key/v1"
 * ‖ signature ‖ counter) with its top 5 bits cleared, for the first counter giving 0 < sk < l.
 */
export function keyFromSignature(signature: `0x${string}`): { secret: bigint; public: Point } {
  const sig = hexToBytes(signature);
  for (let counter = 0; counter < 256; counter++) {
    const h = hexToBytes(keccak256(concat([toBytes("trustml/buyer-key/v1"), sig, new Uint8Array([counter])])));
    h[0] &= 0x07;
    const sk = BigInt("0x" + Array.from(h, (b) => b.toString(16).padStart(2, "0")).join(""));
    if (sk > 0n && sk < L) return { secret: sk, public: mulPoint(BASE8, sk) };
  }
  throw new Error("unreachable: each try succeeds with probability ≈ 0.76");
}

/** ks_i = Poseidon(S.x, S.y, nonce, i) with S = sk·R. */
export const keystream = (p: PoseidonParams, shared: Point, nonce: bigint, i: number): bigint =>
  hash(p, [shared.x, shared.y, nonce, BigInt(i)]);

/** m_i = c_i − ks_i: the delivered blocks (the packed prompt words). */
export function decrypt(p: PoseidonParams, sk: bigint, ephemeral: Point, nonce: bigint, blocks: bigint[]): bigint[] {
  if (!onCurve(ephemeral)) throw new Error("the ephemeral key is not on the curve");
  const shared = mulPoint(ephemeral, sk);
  return blocks.map((c, i) => sub(c, keystream(p, shared, nonce, i)));
}

/** The order's tag, the encryption nonce: keccak256(abi.encode(chainId, market, orderId)) mod r. */
export function orderTag(chainId: bigint, market: `0x${string}`, orderId: bigint): bigint {
  const word = (v: bigint) => v.toString(16).padStart(64, "0");
  const data = ("0x" + word(chainId) + word(BigInt(market)) + word(orderId)) as `0x${string}`;
  return mod(BigInt(keccak256(data)));
}

/**
 * Unpacks `n` prompt values from words (`packing.rs`): ⌊253/B⌋ values of B bits per word, low
 * first, each + min; `null` when the words do not hold exactly that (a wrong key or order
 * decrypts to other field elements).
 */
export function unpack(words: bigint[], bits: number, min: bigint, n: number): bigint[] | null {
  const per = Math.floor(253 / bits);
  if (words.length !== Math.ceil(n / per)) return null;
  const mask = (1n << BigInt(bits)) - 1n;
  const out: bigint[] = [];
  words.forEach((w, j) => {
    const take = Math.min(per, n - j * per);
    let v = w;
    for (let t = 0; t < take; t++) {
      out.push((v & mask) + min);
      v >>= BigInt(bits);
    }
    if (v !== 0n) out.length = n + 1; // bits beyond the values: not a packing of n values
  });
  return out.length === n ? out : null;
}
