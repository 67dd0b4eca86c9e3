// The server's /api/v1, typed as far as the pages use it. One build serves every chain: the
// chain id, RPC URL and contract addresses come from /api/v1/config at run time.

export interface Config {
  chainId: number;
  rpcUrl: string;
  contracts: { marketplace: string; registry: string; auditEscrow: string | null };
  circuits: { listing: string; delivery: string } | null;
  confirmations: number;
  /** The server runs in --dev mode on chain 31337: offer Anvil's dev accounts. */
  devAccounts: boolean;
}

export interface ProofPanel {
  listingCircuitId: string;
  deliveryCircuitId: string;
  listingVkDigest: string | null;
  deliveryVkDigest: string | null;
  listingVerifier: string | null;
  publicInputs: string[];
  exampleOutputMatches: boolean | null;
  verifyTx: string;
  verifyGas: number | null;
}

export interface Listing {
  id: number;
  seller: string;
  listingCircuitId: string;
  deliveryCircuitId: string;
  commitment: string;
  outputHash: string;
  price: string;
  active: boolean;
  sales: number;
  listedBlock: number;
  listedTx: string;
  verified: boolean;
  metadataHash: string | null;
  metadataStatus: "none" | "missing" | "matches" | "output_mismatch";
  metadata: { title: string; description: string; tags: string[] } | null;
  orders?: Record<string, number>;
  proof?: ProofPanel;
}

export interface Order {
  id: number;
  listingId: number;
  buyer: string;
  buyerKey: { x: string; y: string };
  amount: string;
  deadline: number;
  status: "paid" | "committed" | "delivered" | "refunded";
  deliveryDigest: string | null;
  revealDeadline: number | null;
  purchaseTx: string;
  settleTx: string | null;
  settleGas?: number;
}

export interface Account {
  address: string;
  seller: { listings: number; activeListings: number; orders: Record<string, number>; volume: string };
  buyer: { orders: Record<string, number>; spent: string };
}

export interface ModelInfo {
  name: string;
  settingsDigest: string;
  modelKeccak: string;
  format: "onnx" | "zkml";
  scaleBits: number;
  promptLen: number;
  packingBits: number;
  packingMin: number;
  inputs: number[][];
  outputs: number[][];
  calibrationMaxAbsError: number | null;
  delivery: boolean;
  /** A text model: the prompt is text, the proven output the completion's token ids. */
  text: { promptLen: number; completionLen: number; vocab: string[] } | null;
  /** The listing circuit's id on chain (vk digest) and its paired delivery circuit's. */
  listingCircuitId: string | null;
  deliveryCircuitId: string | null;
}

export interface Job {
  id: string;
  kind: "listing" | "delivery";
  owner: string;
  state: "queued" | "running" | "awaiting_input" | "done" | "failed" | "cancelled";
  stage: string;
  done: number;
  total: number;
  etaMs: number | null;
  message: string;
  result: Record<string, unknown> | null;
}

export interface Audit {
  id: number;
  modelId: string;
  requester: string;
  provider: string;
  bounty: string;
  datasetRoot: string;
  datasetSize: string;
  numSamples: number;
  numBatches: number;
  theta: { num: number; den: number };
  status: string;
  batchesSubmitted: number;
  totalCorrect: number;
  outcome: string | null;
  samplesProven: string | null;
  createdTx: string;
  finalizeTx: string | null;
  batches?: { index: number; count: number; correct?: number; submitter: string; tx: string }[];
}

export interface OutputTensor {
  name: string;
  shape: number[];
  values: number[];
}

/** A listing's metadata document (format 1), exactly as its sha256 is bound on chain. */
export interface MetadataDocument {
  format_version: 1;
  title: string;
  description: string;
  tags: string[];
  settings_digest: string;
  example_output: OutputTensor[];
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

/** The session token of the signed-in account (also an HttpOnly cookie; kept for the header). */
let token: string | null = typeof sessionStorage === "undefined" ? null : sessionStorage.getItem("trustml.session");
export const setToken = (t: string | null) => {
  token = t;
  if (t) sessionStorage.setItem("trustml.session", t);
  else sessionStorage.removeItem("trustml.session");
};

async function call<T>(method: string, path: string, body?: unknown, raw?: BodyInit): Promise<T> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const r = await fetch(`/api/v1${path}`, { method, headers, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)) });
  const data = await r.json().catch(() => null);
  if (!r.ok) throw new ApiError(r.status, data?.error?.code ?? "unknown", data?.error?.message ?? r.statusText);
  return data as T;
}

export const get = <T>(path: string) => call<T>("GET", path);
export const post = <T>(path: string, body: unknown) => call<T>("POST", path, body);
export const del = <T>(path: string) => call<T>("DELETE", path);

/** Stores bytes as a content-addressed artifact; returns its sha256. */
export const putArtifact = (bytes: Uint8Array) =>
  call<{ sha256: string }>("PUT", "/artifacts", undefined, bytes as unknown as BodyInit).then((r) => r.sha256);

/** A listing's metadata document (content-addressed; only shown when it matches the chain). */
export const metadataDocument = (sha256: string) => get<MetadataDocument>(`/artifacts/${sha256}`);

/** The EIP-4361 message the server accepts (one format with `trustml_chain::siwe::message`). */
export function siweMessage(domain: string, address: string, chainId: number, nonce: string, now = new Date()): string {
  const issued = now.toISOString().replace(/\.\d{3}Z$/, "Z");
  return (
    `${domain} wants you to sign in with your Ethereum account:\n${address}\n\n` +
    `Sign in to trustml to upload listings and run proving jobs.\n\n` +
    `URI: http://${domain}\nVersion: 1\nChain ID: ${chainId}\nNonce: ${nonce}\nIssued At: ${issued}`
  );
}

/** Signs in with `sign` (a wallet signature of the SIWE message); returns the address. */
export async function signIn(address: string, sign: (msg: string) => Promise<string>): Promise<string> {
  const n = await get<{ nonce: string; domain: string; chainId: number }>("/auth/nonce");
  const message = siweMessage(n.domain, address, n.chainId, n.nonce);
  const signature = await sign(message);
  const s = await post<{ address: string; token: string }>("/auth/login", { message, signature });
  setToken(s.token);
  return s.address;
}

/** The signed-in address, or null. */
export const me = () =>
  token ? get<{ address: string }>("/auth/me").then((s) => s.address, () => (setToken(null), null)) : Promise.resolve(null);
