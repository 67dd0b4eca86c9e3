// The chain from the page: reads straight from the RPC URL the server names (so the server is
// not trusted for what the contract says), and writes that are simulated first, so a revert is
// explained by its custom error — in words — before the wallet asks for a signature.
import {
  BaseError,
  ContractFunctionRevertedError,
  UserRejectedRequestError,
  createPublicClient,
  defineChain,
  http,
  type Abi,
  type Address,
  type Chain,
  type Hash,
  type PublicClient,
  type TransactionReceipt,
  type WalletClient,
} from "viem";
import marketAbi from "../../contracts/chain/artifacts/PromptMarketplace.json?abi";
import type { Config } from "./api";

export const MARKET_ABI = marketAbi as unknown as Abi;

/** The chain of a server's config (name and currency only matter to a wallet's "add chain"). */
export const chainOf = (c: Config): Chain =>
  defineChain({
    id: c.chainId,
    name: c.chainId === 31337 ? "Anvil (local)" : `chain ${c.chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [c.rpcUrl] } },
  });

let reader: { key: string; client: PublicClient } | null = null;
/** The read client for `c` (one per config). */
export function publicClient(c: Config): PublicClient {
  const key = `${c.chainId}|${c.rpcUrl}`;
  if (reader?.key !== key) {
    reader = { key, client: createPublicClient({ chain: chainOf(c), transport: http(c.rpcUrl), pollingInterval: 250 }) };
  }
  return reader.client;
}

/** What each of the marketplace's custom errors means to the person about to sign. */
export const EXPLAIN: Record<string, string> = {
  InvalidAddress: "an address argument is zero or has no contract code",
  FeeTooHigh: "the fee is above the marketplace's maximum",
  DeliveryWindowOutOfRange: "the delivery window is outside the allowed range",
  RevealWindowOutOfRange: "the reveal window is outside the allowed range",
  SafeCastOverflowedUintDowncast: "a number is too large for its on-chain field",
  ZeroPrice: "the price must be above zero",
  ListingNotFound: "there is no such listing",
  ListingNotActive: "the seller closed this listing; it cannot be bought any more",
  NotSeller: "only the listing's seller may do this; switch to the seller's account",
  IncorrectPayment: "the payment must be exactly the listing's price (it may have changed: reload)",
  InvalidPublicKey: "the buyer key is not a valid Baby Jubjub point; derive it again",
  InvalidEphemeralKey: "the delivery's ephemeral key is invalid; prove the delivery again",
  OrderNotFound: "there is no such order",
  OrderNotOpen: "the order is already delivered or refunded",
  DeadlinePassed: "the delivery deadline has passed; the buyer can now take a refund",
  DeadlineNotReached: "the delivery deadline has not passed yet; a refund opens after it",
  RevealPending: "the seller committed to a delivery and may still reveal it; a refund opens after the reveal deadline",
  ZeroDigest: "the delivery digest is empty",
  NoCommitment: "commit to the delivery first (commitDelivery), then reveal it",
  RevealDeadlinePassed: "the reveal deadline has passed; the order can only be refunded now",
  DigestMismatch: "this delivery is not the one committed to; reveal exactly the committed proof and ciphertext",
  CiphertextLengthMismatch: "the ciphertext does not have the length the delivery circuit expects",
  InvalidProof: "the verifier rejected the proof: it was made for other inputs, another seller or another circuit",
  UnknownCircuit: "the circuit is not registered with this marketplace's verifier registry",
  CircuitDeprecated: "the registry deprecated this circuit; prove with the current one",
  CircuitArityMismatch: "the proof has the wrong number of public inputs for this circuit",
  PairNotAllowed: "this listing circuit may not be paired with that delivery circuit",
  PublicInputNotInField: "a public input is not below the BN254 field modulus",
  NothingToWithdraw: "there is nothing to withdraw for this account",
  TransferFailed: "sending the ETH failed (the receiving contract refused it)",
  ReentrancyGuardReentrantCall: "re-entrant call refused",
};

/** A write that did not happen: cancelled in the wallet, refused by the contract, or failed. */
export class TxError extends Error {
  constructor(
    public kind: "cancelled" | "revert" | "failed",
    message: string,
    public errorName?: string,
  ) {
    super(message);
  }
}

/** Turns what viem threw into a [`TxError`] a page can show. */
export function explain(e: unknown): TxError {
  if (e instanceof TxError) return e;
  if (e instanceof BaseError) {
    if (e.walk((x) => x instanceof UserRejectedRequestError) || (e as { code?: number }).code === 4001) {
      return new TxError("cancelled", "cancelled");
    }
    const revert = e.walk((x) => x instanceof ContractFunctionRevertedError);
    if (revert instanceof ContractFunctionRevertedError) {
      const name = revert.data?.errorName ?? revert.reason ?? "unknown";
      return new TxError("revert", `${name}: ${EXPLAIN[name] ?? revert.shortMessage}`, name);
    }
    return new TxError("failed", e.shortMessage);
  }
  const err = e as { code?: number; message?: string };
  if (err?.code === 4001) return new TxError("cancelled", "cancelled");
  return new TxError("failed", err?.message ?? String(e));
}

export interface Write {
  functionName: string;
  args: readonly unknown[];
  value?: bigint;
  /** Defaults to the marketplace. */
  address?: Address;
}

/**
 * Simulates `w` from `account`, then asks the wallet, then waits for the receipt. Throws a
 * [`TxError`]: a revert is named before any signature is asked for.
 */
export async function send(
  c: Config,
  wallet: WalletClient,
  account: Address,
  w: Write,
  onSent?: (h: Hash) => void,
): Promise<TransactionReceipt> {
  const pub = publicClient(c);
  const address = w.address ?? (c.contracts.marketplace as Address);
  let request;
  try {
    ({ request } = await pub.simulateContract({
      address,
      abi: MARKET_ABI,
      functionName: w.functionName,
      args: w.args,
      value: w.value,
      account,
      chain: chainOf(c),
    }));
  } catch (e) {
    throw explain(e);
  }
  let hash: Hash;
  try {
    hash = await wallet.writeContract({ ...request, account: wallet.account ?? account, chain: chainOf(c) });
  } catch (e) {
    throw explain(e);
  }
  onSent?.(hash);
  const receipt = await pub.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new TxError("failed", `the transaction ${hash} reverted on chain`);
  return receipt;
}

/** A read of the marketplace. */
export const read = <T>(c: Config, functionName: string, args: readonly unknown[] = []): Promise<T> =>
  publicClient(c).readContract({ address: c.contracts.marketplace as Address, abi: MARKET_ABI, functionName, args }) as Promise<T>;
