// The library: what the connected account bought. Delivered prompts are decrypted here, in the
// browser (the ciphertext comes from the chain), and the public model is re-run on them; late
// orders are refunded, and credits withdrawn.
import { useEffect, useState } from "preact/hooks";
import { get, type Config, type Listing, type Order } from "../api";
import { explain, read, send } from "../chain";
import { countdown, eth, gas } from "../format";
import { modelFor } from "../models";
import { buyerKey, decryptOrder, readDelivery, type Decrypted } from "../purchase";
import { orderPhase } from "../buyflow";
import { Link } from "../router";
import { useStore } from "../store";
import { ErrorLine, Pixels, TxLink, chainEvents } from "../ui";
import { ready, wallet } from "../wallet";
import { metadataDocument } from "../api";
import { useChainNow } from "./listing";

/** Decrypts a delivered order in the browser and re-runs the model on the prompt. */
export function Decrypt({ c, o, l }: { c: Config; o: Order; l: Listing }) {
  const [out, setOut] = useState<(Decrypted & { tx: string }) | null>(null);
  const [listed, setListed] = useState<number[] | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      const r = ready(c);
      if (typeof r === "string") throw new Error(r);
      const key = await buyerKey(c, r.account);
      const d = await readDelivery(c, o.id);
      if (!d) throw new Error(`no Delivered event for order ${o.id} on chain yet`);
      if (!l.metadataHash) throw new Error("the listing has no metadata, so its model is unknown");
      const doc = await metadataDocument(l.metadataHash);
      setListed(doc.example_output[0].values);
      const model = await modelFor(doc.settings_digest);
      if (!model) throw new Error("this server serves no model with the listing's settings, so the prompt cannot be unpacked here; use `trustml prompt decrypt`");
      setOut({ ...(await decryptOrder(c, o, key, d, model, l.metadataHash)), tx: d.tx });
    } catch (e) {
      setError(explain(e).message);
    }
    setBusy(false);
  };
  if (!out) {
    return (
      <div>
        <button onClick={run} disabled={busy} data-testid={`decrypt-${o.id}`}>
          {busy ? "Decrypting…" : "Decrypt in this browser"}
        </button>
        <ErrorLine error={error} />
      </div>
    );
  }
  const text = out.text ? out.text.prompt : out.prompt.join(" ");
  return (
    <div class="decrypted" data-testid={`decrypted-${o.id}`}>
      <p>
        Prompt: <code data-testid="prompt" class={out.text ? "prompt-text" : ""}>{text}</code>{" "}
        <button
          class="link"
          onClick={() => navigator.clipboard?.writeText(text).then(() => setCopied(true), () => setCopied(false))}
        >
          {copied ? "Copied" : "Copy"}
        </button>
      </p>
      {out.text ? (
        <p data-testid="reproduces" class={out.text.matchesListing ? "ok" : "error"}>
          {out.text.matchesListing
            ? "Its completion is the listed one: "
            : "The delivered completion is NOT the listed one: "}
          <code class="prompt-text">{out.text.prompt}</code>
          <mark class="prompt-text">{out.text.completion}</mark>
        </p>
      ) : "error" in out.rerun ? (
        <p class="muted">Re-run skipped: {out.rerun.error}</p>
      ) : (
        <div class="rerun">
          <figure>
            <Pixels values={out.rerun.output} label="the model re-run on the prompt in this browser" />
            <figcaption>re-run here</figcaption>
          </figure>
          {listed ? (
            <figure>
              <Pixels values={listed} label="the listed (proven) output" />
              <figcaption>listed</figcaption>
            </figure>
          ) : null}
          <p data-testid="reproduces" class={out.rerun.reproduces ? "ok" : "error"}>
            {out.rerun.reproduces
              ? `Reproduces the listed output: max |Δ| = ${out.rerun.maxAbsDiff.toFixed(3)}, within the model's fixed-point error (≤ ${out.rerun.tolerance.toFixed(3)})`
              : `Does NOT reproduce the listed output: max |Δ| = ${out.rerun.maxAbsDiff.toFixed(3)} exceeds the model's fixed-point error (${out.rerun.tolerance.toFixed(3)})`}
          </p>
        </div>
      )}
      <p class="muted">
        Delivered in <TxLink hash={out.tx} />
        {o.settleGas ? ` (${gas(o.settleGas)})` : ""}; the ciphertext was read from the chain and decrypted here — the server never saw the prompt.
      </p>
    </div>
  );
}

function Row({ c, o, l, now, onChange }: { c: Config; o: Order; l: Listing | undefined; now: number; onChange: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const phase = orderPhase(o, now);
  const refund = async () => {
    const r = ready(c);
    if (typeof r === "string") return setError(r);
    setBusy(true);
    try {
      await send(c, r.client, r.account, { functionName: "refund", args: [BigInt(o.id)] });
      setError(null);
      onChange();
    } catch (e) {
      setError(explain(e).message);
    }
    setBusy(false);
  };
  return (
    <article class="panel order" data-order={o.id}>
      <h3>
        <Link href={`/listing/${o.listingId}`}>{l?.metadata?.title ?? `Listing #${o.listingId}`}</Link> · order #{o.id}
      </h3>
      <p class="muted">
        {eth(o.amount)} · bought in <TxLink hash={o.purchaseTx} /> · <span data-testid="order-status">{o.status}</span>
        {phase.at === "waiting" ? ` · delivery due in ${countdown(phase.deadline, now)}` : ""}
      </p>
      {o.status === "delivered" && l ? <Decrypt c={c} o={o} l={l} /> : null}
      {phase.at === "refundable" ? (
        <button onClick={refund} disabled={busy} data-testid={`refund-${o.id}`}>
          {busy ? "Refunding…" : `Refund ${eth(o.amount)}`}
        </button>
      ) : null}
      {o.status === "refunded" && o.settleTx ? (
        <p>
          Refunded in <TxLink hash={o.settleTx} />.
        </p>
      ) : null}
      <ErrorLine error={error} />
    </article>
  );
}

/** The account's withdrawable balance (refunds, or a seller's earnings) and a withdraw button. */
export function Withdraw({ c }: { c: Config }) {
  const w = useStore(wallet);
  const events = useStore(chainEvents);
  const [bal, setBal] = useState<bigint | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (w.account) read<bigint>(c, "withdrawable", [w.account]).then(setBal, () => setBal(null));
  }, [w.account, tick, events]);
  if (bal === null) return null;
  const go = async () => {
    const r = ready(c);
    if (typeof r === "string") return setError(r);
    try {
      await send(c, r.client, r.account, { functionName: "withdraw", args: [] });
      setError(null);
      setTick(tick + 1);
    } catch (e) {
      setError(explain(e).message);
    }
  };
  return (
    <div class="panel">
      <span data-testid="withdrawable">Withdrawable: {eth(bal)}</span>{" "}
      <button onClick={go} disabled={bal === 0n} data-testid="withdraw">
        Withdraw
      </button>
      <ErrorLine error={error} />
    </div>
  );
}

export function Library({ c }: { c: Config }) {
  const w = useStore(wallet);
  const events = useStore(chainEvents);
  const [orders, setOrders] = useState<Order[] | null>(null);
  const [listings, setListings] = useState<Record<number, Listing>>({});
  const [tick, setTick] = useState(0);
  const now = useChainNow(c);
  useEffect(() => {
    if (!w.account) return;
    get<{ items: Order[] }>(`/orders?buyer=${w.account}`).then(async (p) => {
      // Full order rows carry the settle gas.
      const full = await Promise.all(p.items.map((o) => get<Order>(`/orders/${o.id}`)));
      setOrders(full);
      const ids = [...new Set(full.map((o) => o.listingId))];
      const ls = await Promise.all(ids.map((id) => get<Listing>(`/listings/${id}`)));
      setListings(Object.fromEntries(ls.map((l) => [l.id, l])));
    });
  }, [w.account, tick, events]);
  if (!w.account) return <p class="muted">Connect a wallet to see what you bought.</p>;
  return (
    <section>
      <h1>Library</h1>
      <Withdraw c={c} />
      {orders === null ? <p class="muted">Loading…</p> : orders.length === 0 ? <p class="muted">Nothing bought yet.</p> : null}
      {orders?.map((o) => (
        <Row key={o.id} c={c} o={o} l={listings[o.listingId]} now={now} onChange={() => setTick(tick + 1)} />
      ))}
    </section>
  );
}
