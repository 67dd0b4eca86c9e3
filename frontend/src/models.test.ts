import { describe, expect, it } from "vitest";
import type { ModelInfo } from "./api";
import { encodeText, textOf } from "./models";

const m = { name: "text", text: { promptLen: 4, completionLen: 2, vocab: [" ", "a", "b", "\n"] } } as unknown as ModelInfo;

describe("text prompts", () => {
  it("encode with left padding and decode back", () => {
    expect(encodeText(m, "abba")).toEqual([1, 2, 2, 1]);
    expect(encodeText(m, "ab")).toEqual([0, 0, 1, 2]);
    expect(textOf(m, [1, 3, 2])).toBe("a\nb");
  });
  it("refuse what the model cannot read", () => {
    expect(() => encodeText(m, "abc")).toThrow(/"c" at position 2/);
    expect(() => encodeText(m, "aaaaa")).toThrow(/takes 4/);
    expect(textOf(m, [4])).toBeNull();
    expect(textOf(m, [1.5])).toBeNull();
    expect(textOf({ ...m, text: null } as ModelInfo, [1])).toBeNull();
  });
});
