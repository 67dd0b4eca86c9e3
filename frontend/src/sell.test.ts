// The sell page's reading of a CLI listing file, and the re-run tolerance.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { parseListingFile } from "./listingfile";
import { tolerance } from "./purchase";
import type { ModelInfo } from "./api";

const demo = readFileSync(new URL("../../anvil-scripts/demo/listing-1.json", import.meta.url), "utf8");
const image = readFileSync(new URL("../../anvil-scripts/demo/listing-3.json", import.meta.url), "utf8");

describe("listing files", () => {
  it("reads what `trustml prompt prove-listing` writes", () => {
    const f = parseListingFile(demo);
    expect(f.seller).toMatch(/^0x[0-9a-f]{40}$/);
    expect(f.outputs[0].values).toHaveLength(8); // a text listing: 8 completion tokens
    expect(f.proof.startsWith("0x")).toBe(true);
    expect(parseListingFile(image).outputs[0].values).toHaveLength(64); // the 8×8 generator
  });
  it("refuses other files with what to choose instead", () => {
    expect(() => parseListingFile("not json")).toThrow(/not JSON/);
    expect(() => parseListingFile("null")).toThrow(/not a listing proof file/);
    expect(() => parseListingFile(JSON.stringify({ prompt: [1], salt: "0x1" }))).toThrow(/not a listing proof file/);
  });
});

describe("re-run tolerance", () => {
  const m = (calibrationMaxAbsError: number | null) => ({ scaleBits: 6, calibrationMaxAbsError }) as ModelInfo;
  it("is the model's calibrated error with half again as margin, or 4 steps of its scale", () => {
    expect(tolerance(m(0.1))).toBeCloseTo(0.15);
    expect(tolerance(m(null))).toBe(4 / 64);
  });
});
