// The models this server serves (`GET /api/v1/models`), fetched once per page load, and the
// text form of a text model's prompts and completions: token ids ↔ characters, as
// `trustml::text::TextSpec` reads them (a shorter prompt is padded on the left with spaces).
import { get, type ModelInfo } from "./api";

let cache: Promise<ModelInfo[]> | null = null;

/** The served models (cached; a failed fetch is retried next time). */
export function models(): Promise<ModelInfo[]> {
  cache ??= get<ModelInfo[]>("/models").catch((e) => {
    cache = null;
    throw e;
  });
  return cache;
}

/** The served model a listing was proven with (by the settings digest its metadata names). */
export async function modelFor(settingsDigest: string): Promise<ModelInfo | null> {
  return (await models()).find((m) => m.settingsDigest === settingsDigest) ?? null;
}

/** The text of token ids (model values: whole numbers), or null if one is not an id. */
export function textOf(m: ModelInfo, ids: number[]): string | null {
  const vocab = m.text?.vocab;
  if (!vocab) return null;
  let s = "";
  for (const i of ids) {
    if (!Number.isInteger(i) || i < 0 || i >= vocab.length) return null;
    s += vocab[i];
  }
  return s;
}

/** A prompt's token ids; throws a message naming the first character the model cannot read. */
export function encodeText(m: ModelInfo, prompt: string): number[] {
  const t = m.text;
  if (!t) throw new Error(`${m.name} is not a text model`);
  const chars = Array.from(prompt);
  if (chars.length > t.promptLen) throw new Error(`the prompt has ${chars.length} characters; this model takes ${t.promptLen}`);
  const space = t.vocab.indexOf(" ");
  if (chars.length < t.promptLen && space < 0) throw new Error(`this model takes exactly ${t.promptLen} characters`);
  const ids = Array(t.promptLen - chars.length).fill(space);
  chars.forEach((c, i) => {
    const id = t.vocab.indexOf(c);
    if (id < 0) throw new Error(`character ${JSON.stringify(c)} at position ${i} is not in the model's vocabulary: ${t.vocab.join("")}`);
    ids.push(id);
  });
  return ids;
}
