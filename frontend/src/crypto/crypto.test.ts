// The browser's crypto against the vectors the Rust crates write
// (prover/tests/browser_vectors.rs → vectors/crypto.json).
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { parse, toHex } from "./field";
import { commit, compress, hash, permute, type PoseidonParams } from "./poseidon";
import {
  BASE8, L, addPoints, decrypt, keyFromSignature, keyMessage, keystream, mulPoint, onCurve, orderTag, unpack,
} from "./babyjubjub";

const v = JSON.parse(readFileSync(new URL("../../vectors/crypto.json", import.meta.url), "utf8"));
const P: PoseidonParams = {
  fullRounds: v.poseidon.fullRounds,
  partialRounds: v.poseidon.partialRounds,
  roundConstants: v.poseidon.roundConstants.map((r: string[]) => r.map(parse)),
  mds: v.poseidon.mds.map((r: string[]) => r.map(parse)),
};
const pt = (p: { x: string; y: string }) => ({ x: parse(p.x), y: parse(p.y) });

describe("Poseidon", () => {
  it("hashes every length like the Rust sponge", () => {
    for (const c of v.poseidon.hash) expect(toHex(hash(P, c.inputs.map(parse)))).toBe(c.hash);
  });
  it("commits and compresses", () => {
    const c = v.poseidon.commit;
    expect(toHex(commit(P, c.values.map(parse), parse(c.salt)))).toBe(c.commitment);
    const k = v.poseidon.compress;
    expect(toHex(compress(P, parse(k.domain), parse(k.a), parse(k.b)))).toBe(k.out);
  });
  it("a changed input changes the hash", () => {
    const c = v.poseidon.hash[3];
    const xs = c.inputs.map(parse);
    xs[1] += 1n;
    expect(toHex(hash(P, xs))).not.toBe(c.hash);
    expect(permute(P, [0n, 0n, 0n])).toHaveLength(3);
  });
});

describe("Baby Jubjub", () => {
  it("has the crate's base point and subgroup order", () => {
    expect(BASE8).toEqual(pt(v.babyjubjub.base8));
    expect(toHex(L)).toBe(v.babyjubjub.subgroupOrder);
    expect(onCurve(BASE8)).toBe(true);
    expect(mulPoint(BASE8, L)).toEqual({ x: 0n, y: 1n });
    expect(addPoints(BASE8, BASE8)).toEqual(mulPoint(BASE8, 2n));
  });
  it("derives the buyer key of a signature like trustml::market::key_from_signature", () => {
    const k = v.buyerKey;
    expect(keyMessage(31337, v.orderTag.market)).toBe(k.message);
    const key = keyFromSignature(k.signature);
    expect(toHex(key.secret)).toBe(k.secret);
    expect(key.public).toEqual(pt(k.public));
    expect(toHex(keyFromSignature((k.signature.slice(0, -2) + "5b") as `0x${string}`).secret)).not.toBe(k.secret);
  });
  it("computes the order tag", () => {
    const o = v.orderTag;
    expect(toHex(orderTag(BigInt(o.chainId), o.market, BigInt(o.orderId)))).toBe(o.tag);
  });
});

describe("delivery", () => {
  const d = v.delivery;
  const sk = parse(v.buyerKey.secret);
  const tag = parse(v.orderTag.tag);
  it("decrypts the Rust ciphertext to the prompt words and values", () => {
    const shared = mulPoint(pt(d.ephemeral), sk);
    expect(shared).toEqual(pt(d.shared));
    expect(toHex(keystream(P, shared, tag, 0))).toBe(d.keystream0);
    const plain = decrypt(P, sk, pt(d.ephemeral), tag, d.ciphertext.map(parse));
    expect(plain.map(toHex)).toEqual(d.plaintext);
    const p = v.packing;
    const values = unpack(plain, p.bits, BigInt(p.min), p.values.length);
    expect(values?.map(String)).toEqual(p.values);
  });
  it("another key or order decrypts to garbage that does not unpack", () => {
    const p = v.packing;
    for (const [key, nonce] of [[sk + 1n, tag], [sk, tag + 1n]]) {
      const plain = decrypt(P, key, pt(d.ephemeral), nonce, d.ciphertext.map(parse));
      expect(plain.map(toHex)).not.toEqual(d.plaintext);
      expect(unpack(plain, p.bits, BigInt(p.min), p.values.length)).toBeNull();
    }
  });
});
