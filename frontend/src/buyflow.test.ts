import { describe, expect, it } from "vitest";
import type { Order } from "./api";
import { initial, orderPhase, step, stepIndex, type BuyState } from "./buyflow";
import { countdown, duration, eth, gasCost, parseEthAmount, shortAddr } from "./format";

const order = (o: Partial<Order>): Order => ({
  id: 7,
  listingId: 1,
  buyer: "0x0",
  buyerKey: { x: "0x1", y: "0x2" },
  amount: "10",
  deadline: 1000,
  status: "paid",
  deliveryDigest: null,
  revealDeadline: null,
  purchaseTx: "0xaa",
  settleTx: null,
  ...o,
});

describe("buy stepper", () => {
  it("walks review → key → pay → pending → waiting → delivered", () => {
    let s: BuyState = initial;
    s = step(s, { type: "start" });
    expect(s.phase.at).toBe("key");
    s = step(s, { type: "keyed" });
    expect(s.phase.at).toBe("pay");
    s = step(s, { type: "sent", tx: "0xbeef" });
    expect(s.phase).toEqual({ at: "pending", tx: "0xbeef" });
    s = step(s, { type: "order", order: order({}), now: 900 });
    expect(s.phase).toEqual({ at: "waiting", orderId: 7, deadline: 1000 });
    expect(stepIndex(s.phase)).toBe(3);
    s = step(s, { type: "order", order: order({ status: "delivered" }), now: 950 });
    expect(s.phase).toEqual({ at: "delivered", orderId: 7 });
    expect(stepIndex(s.phase)).toBe(4);
  });

  it("a rejected key signature goes back to review quietly; a rejected payment stays on pay", () => {
    let s = step(initial, { type: "start" });
    s = step(s, { type: "cancelled" });
    expect(s).toEqual({ phase: { at: "review" }, notice: "cancelled" });
    s = step(step(step(s, { type: "start" }), { type: "keyed" }), { type: "cancelled" });
    expect(s).toEqual({ phase: { at: "pay" }, notice: "cancelled" });
    s = step(s, { type: "failed", message: "ListingNotActive: closed" });
    expect(s).toEqual({ phase: { at: "pay" }, notice: "ListingNotActive: closed" });
  });

  it("the deadline passing makes an open order refundable; a commitment waits for its reveal", () => {
    expect(orderPhase(order({}), 999).at).toBe("waiting");
    expect(orderPhase(order({}), 1000).at).toBe("refundable");
    expect(orderPhase(order({ status: "committed", revealDeadline: 1200 }), 1100).at).toBe("committed");
    expect(orderPhase(order({ status: "committed", revealDeadline: 1200 }), 1200).at).toBe("refundable");
    expect(orderPhase(order({ status: "refunded" }), 0).at).toBe("refunded");
    let s = step(initial, { type: "order", order: order({}), now: 10 });
    s = step(s, { type: "tick", now: 1001, order: order({}) });
    expect(s.phase.at).toBe("refundable");
  });

  it("out-of-order events do not move the stepper", () => {
    expect(step(initial, { type: "keyed" })).toBe(initial);
    expect(step(initial, { type: "sent", tx: "0x1" })).toBe(initial);
    expect(step(initial, { type: "tick", now: 5, order: null })).toBe(initial);
  });
});

describe("format", () => {
  it("counts down", () => {
    expect(countdown(100, 100)).toBe("passed");
    expect(countdown(145, 100)).toBe("45 s");
    expect(countdown(100 + 125, 100)).toBe("2 min 05 s");
    expect(countdown(100 + 3 * 3600 + 5 * 60, 100)).toBe("3 h 05 min");
    expect(countdown(100 + 2 * 86400 + 3600, 100)).toBe("2 d 1 h");
  });
  it("formats amounts, addresses and durations", () => {
    expect(eth("10000000000000000")).toBe("0.01 ETH");
    expect(shortAddr("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")).toBe("0xf39F…2266");
    expect(duration(1234)).toBe("1.2 s");
    expect(duration(184_000)).toBe("3 min 04 s");
    expect(duration(86_400_000)).toBe("1 d 0 h");
    expect(gasCost(173_751n, 1_094_252_346n)).toBe("≈ 0.000190 ETH at 1.09 gwei");
  });
  it("parses ETH amounts exactly and refuses what is not one", () => {
    expect(parseEthAmount("0.01")).toBe(10n ** 16n);
    expect(parseEthAmount("1")).toBe(10n ** 18n);
    expect(parseEthAmount(" 2.5 ")).toBe(25n * 10n ** 17n);
    for (const bad of ["", "-1", "1e3", "0x10", "1.", "0.0000000000000000001", "abc"]) expect(parseEthAmount(bad)).toBeNull();
  });
});
