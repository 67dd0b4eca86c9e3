// The seller's dashboard: orders awaiting delivery (deadline first), delivered through a server
// job with the listing secret (or the CLI), committed then revealed by the seller's wallet;
// earnings and withdraw.
import { useEffect, useState } from "preact/hooks";
import { get, type Config, type Listing, type Order } from "../api";
import { explain, read, send } from "../chain";
import { countdown, duration, eth } from "../format";
import { runJob, type JobProgress } from "../jobs";
import { modelFor } from "../models";
import { Link } from "../router";
import { useStore } from "../store";
import { ErrorLine, Progress, TxLink, chainEvents, ensureSignedIn } from "../ui";
import { ready, wallet } from "../wallet";
import { metadataDocument } from "../api";
import { useChainNow } from "./listing";
import { Withdraw } from "./library";

interface DeliveryResult {
  order: number;
  ephemeralKey: { x: string; y: string };
  ciphertext: string[];
  proof: string;
  elapsedMs: number;
}

function Deliver({ c, o, l, onDone }: { c: Config; o: Order; l: Listing | undefined; onDone: (notice: string) => void }) {
  const [secret, setSecret] = useState<Record<string, unknown> | null>(null);
  const [progress, setProgress] = useState<JobProgress | null>(null);
  const [step, setStep] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const onFile = async (f: File | undefined) => {
    if (!f) return;
    try {
      const s = JSON.parse(await f.text());
      if (typeof s !== "object" || !s || "proof" in s) throw new Error("that is the listing proof; choose the listing *secret* file");
      setSecret(s);
      setError(null);
    } catch (e) {
      setError(e instanceof SyntaxError ? "not JSON: choose the listing secret file" : (e as Error).message);
    }
  };
  const go = async () => {
    const r = ready(c);
    if (typeof r === "string") return setError(r);
    setError(null);
    try {
      if (!l?.metadataHash) throw new Error("the listing has no metadata document, so its model is unknown; deliver with `trustml market deliver`");
      const model = await modelFor((await metadataDocument(l.metadataHash)).settings_digest);
      if (!model?.delivery) throw new Error("this server has no delivery keys for the listing's model; deliver with `trustml market deliver`");
      const err = await ensureSignedIn();
      if (err) throw new Error(err);
      setStep("Proving the delivery on the server…");
      const job = await runJob({ kind: "delivery", model: model.name, order: o.id, secret }, { secret }, setProgress);
      const d = job.result as unknown as DeliveryResult;
      const proofFile = await get<{ proof: `0x${string}` }>(`/artifacts/${d.proof}`);
      const args = [BigInt(o.id), BigInt(d.ephemeralKey.x), BigInt(d.ephemeralKey.y), d.ciphertext.map(BigInt)] as const;
      const digest = await read<`0x${string}`>(c, "deliveryDigest", [...args, proofFile.proof]);
      setStep("Commit to the delivery in your wallet (1 of 2)…");
      await send(c, r.client, r.account, { functionName: "commitDelivery", args: [BigInt(o.id), digest] });
      setStep("Reveal the delivery in your wallet (2 of 2)…");
      await send(c, r.client, r.account, { functionName: "deliver", args: [...args, proofFile.proof] });
      setStep(null);
      onDone(`Order #${o.id} delivered (proved in ${duration(d.elapsedMs)}); the buyer can decrypt it now.`);
    } catch (e) {
      setError(explain(e).message);
      setStep(null);
    }
  };
  return (
    <div class="deliver">
      <label class="block">
        Listing secret (the file saved when you listed){" "}
        <input type="file" accept=".json,application/json" onChange={(e) => onFile(e.currentTarget.files?.[0])} data-testid={`secret-${o.id}`} />
      </label>
      <button onClick={go} disabled={!secret || !!step} data-testid={`deliver-${o.id}`}>
        Deliver through a server job
      </button>
      <p class="muted">
        Or: <code>trustml market deliver --order {o.id} --secret SECRET.json …</code>
      </p>
      {progress && step?.startsWith("Proving") ? <Progress done={progress.done} total={progress.total} label={progress.stage} /> : null}
      {step ? <p class="muted">{step}</p> : null}
      <ErrorLine error={error} />
    </div>
  );
}

export function Dashboard({ c }: { c: Config }) {
  const w = useStore(wallet);
  const events = useStore(chainEvents);
  const [orders, setOrders] = useState<Order[] | null>(null);
  const [listings, setListings] = useState<Listing[]>([]);
  const [tick, setTick] = useState(0);
  const [notice, setNotice] = useState<string | null>(null);
  const now = useChainNow(c);
  useEffect(() => {
    if (!w.account) return;
    get<{ items: Order[] }>(`/orders?seller=${w.account}`).then((p) => setOrders(p.items));
    get<{ items: Listing[] }>(`/listings?seller=${w.account}&limit=100`).then((p) => setListings(p.items));
  }, [w.account, tick, events]);
  if (!w.account) return <p class="muted">Connect the seller's wallet.</p>;
  const byId = Object.fromEntries(listings.map((l) => [l.id, l]));
  const open = (orders ?? []).filter((o) => o.status === "paid" || o.status === "committed").sort((a, b) => a.deadline - b.deadline);
  const settled = (orders ?? []).filter((o) => o.status === "delivered" || o.status === "refunded");
  const volume = settled.filter((o) => o.status === "delivered").reduce((s, o) => s + BigInt(o.amount), 0n);
  return (
    <section>
      <h1>Seller dashboard</h1>
      <Withdraw c={c} />
      <p class="muted">
        {listings.length} listings · {settled.filter((o) => o.status === "delivered").length} delivered ({eth(volume)} before fees) ·{" "}
        {settled.filter((o) => o.status === "refunded").length} refunded
      </p>
      {notice ? (
        <p class="ok" data-testid="notice">
          {notice}
        </p>
      ) : null}
      <h2>Awaiting delivery</h2>
      {orders === null ? <p class="muted">Loading…</p> : open.length === 0 ? <p class="muted">No open orders.</p> : null}
      {open.map((o) => (
        <article class="panel order" key={o.id} data-order={o.id}>
          <h3>
            Order #{o.id} · <Link href={`/listing/${o.listingId}`}>{byId[o.listingId]?.metadata?.title ?? `listing #${o.listingId}`}</Link>
          </h3>
          <p class="muted">
            {eth(o.amount)} from {o.buyer.slice(0, 10)}… · {o.status} · deadline {countdown(o.deadline, now)} · bought in <TxLink hash={o.purchaseTx} />
          </p>
          {now < o.deadline || o.status === "committed" ? (
            <Deliver c={c} o={o} l={byId[o.listingId]} onDone={(n) => (setNotice(n), setTick(tick + 1))} />
          ) : (
            <p class="error">The deadline passed: the buyer can take a refund.</p>
          )}
        </article>
      ))}
      <h2>Settled</h2>
      {settled.map((o) => (
        <p key={o.id} class="muted">
          Order #{o.id} · {eth(o.amount)} · {o.status} {o.settleTx ? <TxLink hash={o.settleTx} /> : null}
        </p>
      ))}
      <p class="muted">
        Listings: {listings.map((l) => (
          <span key={l.id}>
            <Link href={`/listing/${l.id}`}>#{l.id}</Link>{" "}
          </span>
        ))}
        <Fee c={c} />
      </p>
    </section>
  );
}

/** The marketplace's fee, read from the contract. */
function Fee({ c }: { c: Config }) {
  const [bps, setBps] = useState<bigint | null>(null);
  useEffect(() => {
    read<bigint>(c, "feeBps").then(setBps, () => {});
  }, []);
  return bps === null ? null : <span> · marketplace fee {Number(bps) / 100}%</span>;
}
