// Formatting shared by the pages (pure; format.test.ts).
import { formatEther, formatGwei } from "viem";

/** `0xf39F…2266`. */
export const shortAddr = (a: string) => (a.length > 12 ? `${a.slice(0, 6)}…${a.slice(-4)}` : a);

/** A wei amount as ETH, trimmed: `0.01 ETH`. */
export const eth = (wei: bigint | string) => `${formatEther(BigInt(wei))} ETH`;

/** A gas figure with thousands separators: `312,455 gas`. */
export const gas = (g: number | bigint) => `${BigInt(g).toLocaleString("en-US")} gas`;

/** Gas × price as ETH, for a cost estimate. */
export const gasCost = (g: bigint, priceWei: bigint) =>
  `≈ ${Number(formatEther(g * priceWei)).toPrecision(3)} ETH at ${Number(formatGwei(priceWei)).toPrecision(3)} gwei`;

/** Time left until `deadline` (unix seconds) seen at `now`: `2 h 05 min`, `45 s`, or `passed`. */
export function countdown(deadline: number, now: number): string {
  const s = Math.floor(deadline - now);
  if (s <= 0) return "passed";
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${String(m).padStart(2, "0")} min`;
  if (m > 0) return `${m} min ${String(s % 60).padStart(2, "0")} s`;
  return `${s} s`;
}

/** A unix time as local date and time. */
export const when = (t: number) => new Date(t * 1000).toLocaleString();

/** Milliseconds as `1.2 s`, `3 min 04 s`, `2 h 05 min` or `1 d 0 h`. */
export function duration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 3_600_000) return countdown(ms / 1000, 0);
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
}

/** Parses a decimal ETH amount into wei; `null` (not a throw) for anything that is not one. */
export function parseEthAmount(text: string): bigint | null {
  const t = text.trim();
  if (!/^\d+(\.\d{1,18})?$/.test(t)) return null;
  const [whole, frac = ""] = t.split(".");
  return BigInt(whole) * 10n ** 18n + BigInt(frac.padEnd(18, "0"));
}
