// The buy stepper as a pure state machine (buyflow.test.ts): review → key → pay → waiting for
// delivery (deadline counting down) → delivered → decrypted; a cancelled signature goes back one
// step quietly, a refused transaction stays on its step with the reason.
import type { Order } from "./api";

export type Phase =
  | { at: "review" }
  | { at: "key" }
  | { at: "pay" }
  | { at: "pending"; tx: string }
  | { at: "waiting"; orderId: number; deadline: number }
  | { at: "committed"; orderId: number; revealDeadline: number }
  | { at: "refundable"; orderId: number }
  | { at: "refunded"; orderId: number }
  | { at: "delivered"; orderId: number };

export interface BuyState {
  phase: Phase;
  /** "cancelled" (quiet) or what went wrong. */
  notice: string | null;
}

export type BuyEvent =
  | { type: "start" }
  | { type: "keyed" }
  | { type: "sent"; tx: string }
  | { type: "order"; order: Order; now: number }
  | { type: "tick"; now: number; order: Order | null }
  | { type: "cancelled" }
  | { type: "failed"; message: string };

export const initial: BuyState = { phase: { at: "review" }, notice: null };

/** Where an order stands at `now` (unix seconds). */
export function orderPhase(o: Order, now: number): Phase {
  switch (o.status) {
    case "delivered":
      return { at: "delivered", orderId: o.id };
    case "refunded":
      return { at: "refunded", orderId: o.id };
    case "committed":
      return now < (o.revealDeadline ?? 0)
        ? { at: "committed", orderId: o.id, revealDeadline: o.revealDeadline ?? 0 }
        : { at: "refundable", orderId: o.id };
    default:
      return now < o.deadline ? { at: "waiting", orderId: o.id, deadline: o.deadline } : { at: "refundable", orderId: o.id };
  }
}

export function step(s: BuyState, e: BuyEvent): BuyState {
  const p = s.phase;
  switch (e.type) {
    case "start":
      return p.at === "review" ? { phase: { at: "key" }, notice: null } : s;
    case "keyed":
      return p.at === "key" ? { phase: { at: "pay" }, notice: null } : s;
    case "sent":
      return p.at === "pay" ? { phase: { at: "pending", tx: e.tx }, notice: null } : s;
    case "order":
      return { phase: orderPhase(e.order, e.now), notice: null };
    case "tick":
      return e.order && (p.at === "waiting" || p.at === "committed") ? { ...s, phase: orderPhase(e.order, e.now) } : s;
    case "cancelled":
      // A rejected signature is not an error: back to where the person can try again.
      if (p.at === "key") return { phase: { at: "review" }, notice: "cancelled" };
      if (p.at === "pay") return { phase: { at: "pay" }, notice: "cancelled" };
      return { ...s, notice: "cancelled" };
    case "failed":
      return { ...s, phase: p.at === "key" ? { at: "review" } : p, notice: e.message };
  }
}

/** The stepper's labels, and which one a phase lights. */
export const STEPS = ["Review", "Buyer key", "Pay", "Awaiting delivery", "Delivered"] as const;
export function stepIndex(p: Phase): number {
  switch (p.at) {
    case "review":
      return 0;
    case "key":
      return 1;
    case "pay":
    case "pending":
      return 2;
    case "waiting":
    case "committed":
    case "refundable":
    case "refunded":
      return 3;
    case "delivered":
      return 4;
  }
}
