// The listing proof file `trustml prompt prove-listing -o` writes, as the sell page reads it.
import type { OutputTensor } from "./api";

/** What `trustml prompt prove-listing` writes (the fields `list` needs). */
export interface ListingFile {
  commitment: string;
  output_hash: string;
  seller: string;
  settings_digest: string;
  proof: string;
  outputs: OutputTensor[];
  insecure_srs?: boolean;
}

export function parseListingFile(text: string): ListingFile {
  let f: ListingFile;
  try {
    f = JSON.parse(text);
  } catch {
    throw new Error("not JSON: choose the listing file `trustml prompt prove-listing -o` wrote");
  }
  if (typeof f !== "object" || f === null) throw new Error("not a listing proof file: choose the file prove-listing wrote");
  for (const k of ["commitment", "output_hash", "seller", "settings_digest", "proof", "outputs"] as const) {
    if (!(k in f)) throw new Error(`not a listing proof file: it has no "${k}" (choose the file prove-listing wrote, not the secret)`);
  }
  return f;
}
