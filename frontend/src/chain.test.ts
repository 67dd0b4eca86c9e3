// Revert explanations: every custom error of the marketplace has words, and viem's errors map
// to "cancelled" / the error's name and meaning.
import { describe, expect, it } from "vitest";
import { BaseError, ContractFunctionExecutionError, ContractFunctionRevertedError, UserRejectedRequestError, encodeErrorResult, type Abi } from "viem";
import { EXPLAIN, MARKET_ABI, TxError, explain } from "./chain";

type AbiError = Extract<Abi[number], { type: "error" }>;
const errors = MARKET_ABI.filter((x): x is AbiError => x.type === "error");

describe("revert explanations", () => {
  it("cover every custom error of PromptMarketplace", () => {
    expect(errors.length).toBeGreaterThan(20);
    const missing = errors.map((e) => e.name).filter((n) => !EXPLAIN[n]);
    expect(missing).toEqual([]);
  });

  it("name a simulated revert and say what it means", () => {
    const data = encodeErrorResult({ abi: MARKET_ABI, errorName: "IncorrectPayment", args: [10n, 9n] });
    const revert = new ContractFunctionRevertedError({ abi: MARKET_ABI, data, functionName: "buy" });
    const e = explain(new ContractFunctionExecutionError(revert, { abi: MARKET_ABI, functionName: "buy", args: [] }));
    expect(e).toBeInstanceOf(TxError);
    expect(e.kind).toBe("revert");
    expect(e.errorName).toBe("IncorrectPayment");
    expect(e.message).toBe(`IncorrectPayment: ${EXPLAIN.IncorrectPayment}`);
  });

  it("turn a rejected signature into a quiet cancel, anything else into its message", () => {
    expect(explain(new UserRejectedRequestError(new Error("User rejected the request."))).kind).toBe("cancelled");
    expect(explain({ code: 4001, message: "denied" }).kind).toBe("cancelled");
    const other = explain(new BaseError("the RPC is down"));
    expect([other.kind, other.message]).toEqual(["failed", "the RPC is down"]);
  });
});
