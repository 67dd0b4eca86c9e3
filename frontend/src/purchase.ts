// A purchase from the buyer's side: the buyer key derived from one wallet signature, the
// delivery read from the chain (the Delivered event, not the server), decrypted and unpacked
// here, and the public model re-run on the prompt to show it reproduces the listed output.
import type { Address } from "viem";
import { metadataDocument, type Config, type ModelInfo, type Order } from "./api";
import { MARKET_ABI, publicClient } from "./chain";
import { decrypt, keyFromSignature, keyMessage, orderTag, unpack, type Point } from "./crypto/babyjubjub";
import { toHex, parse } from "./crypto/field";
import { POSEIDON } from "./crypto/params";
import { textOf } from "./models";
import { maxAbsDiff, parseModel, run } from "./onnx";
import { signText } from "./wallet";

export interface BuyerKey {
  secret: bigint;
  public: Point;
}

const keyId = (c: Config, account: string) => `trustml.buyerKey|${c.chainId}|${c.contracts.marketplace}|${account.toLowerCase()}`;

/** The key of `account` if derived in this tab already (kept for the tab's life only). */
export function cachedKey(c: Config, account: string): BuyerKey | null {
  const s = sessionStorage.getItem(keyId(c, account));
  if (!s) return null;
  const k = JSON.parse(s);
  return { secret: parse(k.secret), public: { x: parse(k.x), y: parse(k.y) } };
}

/** The buyer key: one signature of a fixed message (deterministic, so re-deriving gives the same key). */
export async function buyerKey(c: Config, account: string): Promise<BuyerKey> {
  const cached = cachedKey(c, account);
  if (cached) return cached;
  const sig = await signText(keyMessage(c.chainId, c.contracts.marketplace));
  const k = keyFromSignature(sig);
  sessionStorage.setItem(keyId(c, account), JSON.stringify({ secret: toHex(k.secret), x: toHex(k.public.x), y: toHex(k.public.y) }));
  return k;
}

export interface Delivery {
  ephemeral: Point;
  ciphertext: bigint[];
  tx: string;
}

/** The order's Delivered event, read from the chain. */
export async function readDelivery(c: Config, orderId: number): Promise<Delivery | null> {
  const logs = await publicClient(c).getContractEvents({
    address: c.contracts.marketplace as Address,
    abi: MARKET_ABI,
    eventName: "Delivered",
    args: { orderId: BigInt(orderId) },
    fromBlock: 0n,
  });
  const l = logs[0] as unknown as { args: { ephX: bigint; ephY: bigint; ciphertext: bigint[] }; transactionHash: string } | undefined;
  if (!l) return null;
  return { ephemeral: { x: l.args.ephX, y: l.args.ephY }, ciphertext: [...l.args.ciphertext], tx: l.transactionHash };
}

export interface Decrypted {
  /** The prompt as model input values (tokens for the generator). */
  prompt: number[];
  /** The public model re-run on it, compared with the listed example output. */
  rerun: { output: number[]; maxAbsDiff: number; tolerance: number; reproduces: boolean } | { error: string };
  /**
   * A text model's prompt and the completion the seller committed with it, which must be the
   * listed one (the listing proof says it is the model's greedy decoding of this prompt).
   */
  text: { prompt: string; completion: string; matchesListing: boolean } | null;
}

/**
 * How far a float re-run may be from the proven fixed-point output and still count as
 * reproducing it: the model's own quantization error on its calibration set, with half again
 * as margin for prompts outside it (or 2^-scale·4 when the model was not calibrated).
 */
export const tolerance = (m: ModelInfo) => (m.calibrationMaxAbsError !== null ? 1.5 * m.calibrationMaxAbsError : 4 / 2 ** m.scaleBits);

/** Decrypts order `o` with `key`, unpacks it for `model`, re-runs the model. */
export async function decryptOrder(c: Config, o: Order, key: BuyerKey, d: Delivery, model: ModelInfo, metadataHash: string | null): Promise<Decrypted> {
  const tag = orderTag(BigInt(c.chainId), c.contracts.marketplace as `0x${string}`, BigInt(o.id));
  const plain = decrypt(POSEIDON, key.secret, d.ephemeral, tag, d.ciphertext);
  const values = unpack(plain, model.packingBits, BigInt(model.packingMin), model.promptLen);
  if (!values) throw new Error("the delivery does not decrypt to a prompt with this key: was it bought from another account?");
  const scale = 2 ** model.scaleBits;
  const prompt = values.map((v) => Number(v) / scale);
  if (model.text) {
    const p = textOf(model, prompt.slice(0, model.text.promptLen));
    const completion = textOf(model, prompt.slice(model.text.promptLen));
    if (p === null || completion === null) throw new Error("the delivery does not decrypt to text of this model: was it bought from another account?");
    const listed = metadataHash ? textOf(model, (await metadataDocument(metadataHash)).example_output[0].values) : null;
    const rerun = { error: "the browser does not run the language model; the listing proof already checked its greedy decoding" };
    return { prompt, rerun, text: { prompt: p, completion, matchesListing: completion === listed } };
  }
  let rerun: Decrypted["rerun"];
  try {
    if (model.format !== "onnx") throw new Error(`a ${model.format} model cannot be re-run in the browser`);
    const r = await fetch(`/api/v1/models/${model.name}/file`);
    if (!r.ok) throw new Error(`the server did not send the model (${r.status})`);
    const g = parseModel(new Uint8Array(await r.arrayBuffer()));
    const [out] = run(g, [{ shape: model.inputs[0], data: Float64Array.from(prompt) }]);
    const listed = metadataHash ? (await metadataDocument(metadataHash)).example_output[0].values : [];
    const diff = maxAbsDiff(out.data, listed);
    const tol = tolerance(model);
    rerun = { output: Array.from(out.data), maxAbsDiff: diff, tolerance: tol, reproduces: diff <= tol };
  } catch (e) {
    rerun = { error: (e as Error).message };
  }
  return { prompt, rerun, text: null };
}
