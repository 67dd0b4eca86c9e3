// The Poseidon parameters the Rust crate exports (with its test vectors) into vectors/crypto.json.
import vectors from "../../vectors/crypto.json";
import { parse } from "./field";
import type { PoseidonParams } from "./poseidon";

export const POSEIDON: PoseidonParams = {
  fullRounds: vectors.poseidon.fullRounds,
  partialRounds: vectors.poseidon.partialRounds,
  roundConstants: vectors.poseidon.roundConstants.map((r: string[]) => r.map(parse)),
  mds: vectors.poseidon.mds.map((r: string[]) => r.map(parse)),
};
