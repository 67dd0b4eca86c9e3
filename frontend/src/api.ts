// The server's /api/v1, typed as far as the pages use it. One build serves every chain: the
// chain id, RPC URL and contract addresses come from /api/v1/config at run time.

export interface Config {
  chainId: number;
  rpcUrl: string;
  contracts: { marketplace: string; registry: string; auditEscrow: string | null };
  confirmations: number;
}

export interface Listing {
  id: number;
  seller: string;
  price: string;
  active: boolean;
  sales: number;
  verified: boolean;
  metadataHash: string | null;
  metadataStatus: "none" | "missing" | "matches" | "output_mismatch";
  metadata: { title: string; description: string; tags: string[] } | null;
}

export interface OutputTensor {
  name: string;
  shape: number[];
  values: number[];
}

/** An API error: its stable code and the server's message. */
export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function get<T>(path: string): Promise<T> {
  const r = await fetch(`/api/v1${path}`);
  const body = await r.json().catch(() => null);
  if (!r.ok) {
    throw new ApiError(r.status, body?.error?.code ?? "unknown", body?.error?.message ?? r.statusText);
  }
  return body as T;
}

/** A listing's metadata document (content-addressed; only shown when it matches the chain). */
export const metadataDocument = (sha256: string) =>
  get<{ example_output: OutputTensor[] }>(`/artifacts/${sha256}`);
