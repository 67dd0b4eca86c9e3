// Sell: a listing proof (uploaded from `trustml prompt prove-listing`, or made by a server job
// with a progress bar) → title, description and price → review → the wallet signs `list`.
// The metadata document is built here, stored on the server, and its sha256 goes on chain.
import { useEffect, useState } from "preact/hooks";
import { parseEventLogs } from "viem";
import { get, putArtifact, type Config, type MetadataDocument, type ModelInfo } from "../api";
import { encodeText, modelFor, models } from "../models";
import { MARKET_ABI, explain, send } from "../chain";
import { parseListingFile, type ListingFile } from "../listingfile";
import { duration, eth, parseEthAmount } from "../format";
import { runJob, type JobProgress } from "../jobs";
import { navigate } from "../router";
import { useStore } from "../store";
import { ErrorLine, ProvenOutput, Progress, ensureSignedIn } from "../ui";
import { ready, wallet } from "../wallet";

const sha256Hex = async (b: Uint8Array) =>
  "0x" + Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", b as unknown as ArrayBuffer)), (x) => x.toString(16).padStart(2, "0")).join("");

/** Saves `text` as a file download. */
export function download(name: string, text: string) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

function ProveOnServer({ onListing }: { onListing: (f: ListingFile) => void }) {
  const [served, setModels] = useState<ModelInfo[] | null>(null);
  const [model, setModel] = useState("");
  const [prompt, setPrompt] = useState("");
  const [progress, setProgress] = useState<JobProgress | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    models().then(
      (m) => {
        setModels(m);
        if (m[0]) setModel(m[0].name);
      },
      (e) => setError((e as Error).message),
    );
  }, []);
  if (served === null) return error ? <ErrorLine error={error} /> : <p class="muted">Loading models…</p>;
  if (!served.length) return <p class="muted">This server proves no listings (it runs without --models). Prove with the CLI and upload the file instead.</p>;
  const info = served.find((m) => m.name === model);
  const start = async () => {
    setError(null);
    let values: number[];
    if (info?.text) {
      try {
        values = encodeText(info, prompt);
      } catch (e) {
        return setError((e as Error).message);
      }
    } else {
      values = prompt.trim().split(/[\s,]+/).map(Number);
      if (!info || values.length !== info.promptLen || values.some((v) => !Number.isFinite(v))) {
        return setError(`the prompt must be ${info?.promptLen} numbers separated by spaces or commas`);
      }
    }
    const err = await ensureSignedIn();
    if (err) return setError(err);
    const body = { input_data: [values] };
    try {
      const job = await runJob({ kind: "listing", model, prompt: body }, { prompt: body }, setProgress);
      const r = job.result as { listing: string; secret: string; elapsedMs: number };
      const listing = await get<ListingFile>(`/artifacts/${r.listing}`);
      const sec = await fetch(r.secret).then((x) => x.text());
      setSecret(sec);
      download(`listing-secret-${listing.commitment.slice(2, 10)}.json`, sec);
      onListing(listing);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <div>
      <label>
        Model{" "}
        <select value={model} onChange={(e) => setModel(e.currentTarget.value)}>
          {served.map((m) => (
            <option key={m.name} value={m.name}>
              {m.name} — {m.text ? `text: a ${m.text.promptLen}-character prompt, ${m.text.completionLen} characters of completion` : `${m.promptLen} values`}
            </option>
          ))}
        </select>
      </label>
      <label class="block">
        {info?.text
          ? `Prompt (up to ${info.text.promptLen} characters of ${JSON.stringify(info.text.vocab.join(""))}; shorter ones are padded with spaces on the left. The completion is the model's own: its greedy decoding, proven)`
          : `Prompt (${info?.promptLen} values)`}
        ; it stays in the server's memory only while proving
        <input
          value={prompt}
          onInput={(e) => setPrompt(e.currentTarget.value)}
          placeholder={info?.text ? "def __init__(self, data=" : "6 11 0 3 5 1"}
          maxLength={info?.text?.promptLen}
          data-testid="prompt-input"
        />
      </label>
      <button onClick={start} disabled={!!progress && !["done", "failed", "cancelled"].includes(progress.state)} data-testid="prove">
        Prove on the server
      </button>
      {progress ? (
        <div data-testid="job-progress">
          <Progress done={progress.done} total={progress.total} label={`${progress.stage}${progress.state === "awaiting_input" ? " (server restarted: re-sending the prompt)" : ""}`} />
          <p class="muted">
            {progress.state}
            {progress.etaMs ? ` · about ${duration(progress.etaMs)} left` : ""}
          </p>
        </div>
      ) : null}
      {secret ? (
        <p class="warn-box" data-testid="secret-saved">
          The listing secret was downloaded (the server erased its copy). Keep it: you need it to deliver every sale.{" "}
          <button class="link" onClick={() => download("listing-secret.json", secret)}>
            Download again
          </button>
        </p>
      ) : null}
      <ErrorLine error={error} />
    </div>
  );
}

export function Sell({ c }: { c: Config }) {
  const w = useStore(wallet);
  const [file, setFile] = useState<ListingFile | null>(null);
  const [title, setTitle] = useState("");
  const [description, setDescription] = useState("");
  const [tags, setTags] = useState("");
  const [price, setPrice] = useState("0.01");
  const [mode, setMode] = useState<"upload" | "server">("upload");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  const onFile = async (f: File | undefined) => {
    setError(null);
    if (!f) return;
    try {
      setFile(parseListingFile(await f.text()));
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const wei = parseEthAmount(price);
  const doc = (): MetadataDocument => ({
    format_version: 1,
    title: title.trim(),
    description: description.trim(),
    tags: tags.split(",").map((t) => t.trim()).filter(Boolean),
    settings_digest: file!.settings_digest,
    example_output: file!.outputs,
  });
  const problems: string[] = [];
  if (file && w.account && file.seller.toLowerCase() !== w.account.toLowerCase())
    problems.push(`this proof binds seller ${file.seller}; connect that account (the contract rebuilds the seller from the sender)`);
  if (!title.trim()) problems.push("a title is needed");
  if (title.length > 120) problems.push("the title is at most 120 characters");
  if (description.length > 4000) problems.push("the description is at most 4,000 characters");
  if (tags.split(",").filter((t) => t.trim()).length > 8) problems.push("at most 8 tags");
  if (wei === null || wei === 0n) problems.push("the price must be a positive ETH amount, e.g. 0.01");
  if (!c.circuits) problems.push("the server does not name the marketplace's circuits");

  const list = async () => {
    const r = ready(c);
    if (typeof r === "string") return setError(r);
    setError(null);
    try {
      setBusy("Signing in to upload the description…");
      const err = await ensureSignedIn();
      if (err) throw new Error(err);
      setBusy("Uploading the description…");
      const bytes = new TextEncoder().encode(JSON.stringify(doc()));
      const sha = await putArtifact(bytes);
      if (sha !== (await sha256Hex(bytes))) throw new Error("the server stored other bytes than were sent");
      // The listing kind: the served model's circuit pair, else the deployment's own.
      const m = await modelFor(file!.settings_digest).catch(() => null);
      const pair =
        m?.listingCircuitId && m.deliveryCircuitId ? { listing: m.listingCircuitId, delivery: m.deliveryCircuitId } : c.circuits!;
      setBusy("Confirm the listing in your wallet…");
      const receipt = await send(c, r.client, r.account, {
        functionName: "list",
        args: [pair.listing as `0x${string}`, pair.delivery as `0x${string}`, BigInt(file!.commitment), BigInt(file!.output_hash), wei!, sha, file!.proof],
      });
      const [ev] = parseEventLogs({ abi: MARKET_ABI, logs: receipt.logs, eventName: "Listed" }) as unknown as { args: { listingId: bigint } }[];
      navigate(`/listing/${ev.args.listingId}`);
    } catch (e) {
      setError(explain(e).message);
    }
    setBusy(null);
  };

  return (
    <section class="sell">
      <h1>Sell a prompt</h1>
      <ol class="form-steps">
        <li>
          <h3>1. The listing proof</h3>
          <div class="tabs">
            <button class={mode === "upload" ? "on" : ""} onClick={() => setMode("upload")}>
              Upload a proof made with the CLI
            </button>
            <button class={mode === "server" ? "on" : ""} onClick={() => setMode("server")} data-testid="mode-server">
              Prove on the server
            </button>
          </div>
          {mode === "upload" ? (
            <div>
              <p class="muted">
                <code>trustml prompt prove-listing MODEL prompt.json --seller {w.account ?? "0xYOU"} -o listing.json --secret secret.json</code> — the prompt never
                leaves your machine.
              </p>
              <input type="file" accept=".json,application/json" onChange={(e) => onFile(e.currentTarget.files?.[0])} data-testid="listing-file" />
            </div>
          ) : (
            <ProveOnServer onListing={setFile} />
          )}
          {file ? (
            <div class="proof-summary" data-testid="proof-loaded">
              <ProvenOutput values={file.outputs[0].values} digest={file.settings_digest} label="the proven output" />
              <p class="mono">C {file.commitment.slice(0, 18)}… · H {file.output_hash.slice(0, 18)}…</p>
              {file.insecure_srs ? <p class="warn-box">Made with an INSECURE development SRS: fine on a local chain only.</p> : null}
            </div>
          ) : null}
        </li>
        <li>
          <h3>2. Description and price</h3>
          <label class="block">
            Title <input value={title} onInput={(e) => setTitle(e.currentTarget.value)} data-testid="title" />
          </label>
          <label class="block">
            Description <textarea value={description} onInput={(e) => setDescription(e.currentTarget.value)} data-testid="description" />
          </label>
          <label class="block">
            Tags (comma separated) <input value={tags} onInput={(e) => setTags(e.currentTarget.value)} />
          </label>
          <label class="block">
            Price (ETH) <input value={price} onInput={(e) => setPrice(e.currentTarget.value)} data-testid="price" />
          </label>
        </li>
        <li>
          <h3>3. Review and list</h3>
          {file && !problems.length && wei ? (
            <p>
              “{title.trim()}” for {eth(wei)}. The description's sha256 is bound on chain with the listing, so it cannot be swapped later.
            </p>
          ) : null}
          {file ? problems.map((p) => <p class="muted" key={p}>• {p}</p>) : <p class="muted">Load a listing proof first.</p>}
          <button onClick={list} disabled={!file || problems.length > 0 || !!busy} data-testid="list-button">
            List
          </button>
          {busy ? <p class="muted">{busy}</p> : null}
          <ErrorLine error={error} />
        </li>
      </ol>
    </section>
  );
}

