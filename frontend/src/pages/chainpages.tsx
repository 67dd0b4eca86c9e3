// Chain pages: a transaction with its decoded events, an account's record, and audits.
import { useEffect, useState } from "preact/hooks";
import { decodeEventLog, type Hash, type TransactionReceipt } from "viem";
import { get, type Account, type Audit, type Config } from "../api";
import { MARKET_ABI, publicClient } from "../chain";
import { eth, gas } from "../format";
import { Link } from "../router";
import { Addr, ErrorLine } from "../ui";

const show = (v: unknown): string =>
  typeof v === "bigint" ? v.toString() : Array.isArray(v) ? `[${v.map(show).join(", ")}]` : String(v);

type Decoded = { eventName: string; args: Record<string, unknown> };
function decode(data: `0x${string}`, topics: [`0x${string}`, ...`0x${string}`[]] | []): Decoded | null {
  try {
    return decodeEventLog({ abi: MARKET_ABI, data, topics }) as unknown as Decoded;
  } catch {
    return null;
  }
}

export function TxPage({ c, hash }: { c: Config; hash: string }) {
  const [r, setR] = useState<TransactionReceipt | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!/^0x[0-9a-fA-F]{64}$/.test(hash)) return setError("not a transaction hash (0x + 64 hex digits)");
    publicClient(c)
      .getTransactionReceipt({ hash: hash as Hash })
      .then(setR, () => setError(`no transaction ${hash} on chain ${c.chainId}`));
  }, [hash]);
  if (error) return <ErrorLine error={error} />;
  if (!r) return <p class="muted">Loading…</p>;
  return (
    <section>
      <h1>Transaction</h1>
      <dl class="kv">
        <dt>Hash</dt>
        <dd class="mono">{hash}</dd>
        <dt>Status</dt>
        <dd>{r.status}</dd>
        <dt>Block</dt>
        <dd>{r.blockNumber.toString()}</dd>
        <dt>From</dt>
        <dd>
          <Addr a={r.from} />
        </dd>
        <dt>Gas used</dt>
        <dd>{gas(r.gasUsed)}</dd>
      </dl>
      <h2>Events</h2>
      {r.logs.map((log, i) => {
        const ev = decode(log.data, log.topics);
        return (
          <div class="panel" key={i} data-testid="tx-event">
            <b>{ev ? ev.eventName : "unknown event"}</b> <span class="muted">from {log.address}</span>
            {ev ? (
              <dl class="kv">
                {Object.entries(ev.args).map(([k, v]) => [<dt key={k}>{k}</dt>, <dd class="mono">{show(v)}</dd>])}
              </dl>
            ) : null}
          </div>
        );
      })}
    </section>
  );
}

export function AccountPage({ address }: { address: string }) {
  const [a, setA] = useState<Account | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    get<Account>(`/accounts/${address}`).then(setA, (e) => setError(e.message));
  }, [address]);
  if (error) return <ErrorLine error={error} />;
  if (!a) return <p class="muted">Loading…</p>;
  return (
    <section>
      <h1 class="mono">{a.address}</h1>
      <p>
        As seller: {a.seller.listings} listings ({a.seller.activeListings} open), {a.seller.orders.delivered ?? 0} delivered,{" "}
        {a.seller.orders.refunded ?? 0} refunded, volume {eth(a.seller.volume)}. <Link href={`/?seller=${a.address}`}>Listings</Link>
      </p>
      <p>
        As buyer: {Object.values(a.buyer.orders).reduce((s, n) => s + n, 0)} orders, {eth(a.buyer.spent)} spent.
      </p>
    </section>
  );
}

export function Audits() {
  const [items, setItems] = useState<Audit[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    get<{ items: Audit[] }>("/audits").then((p) => setItems(p.items), (e) => setError(e.message));
  }, []);
  if (error) return <ErrorLine error={error} />;
  return (
    <section>
      <h1>Audits</h1>
      <p class="muted">
        An audit proves a committed model's accuracy on samples of a committed dataset that a seed drawn after the model was fixed chooses — neither side picks them.
      </p>
      {items === null ? <p class="muted">Loading…</p> : items.length === 0 ? <p class="muted">No audits on this chain yet (`trustml audit request`).</p> : null}
      {items?.map((a) => (
        <article class="panel" key={a.id} data-audit={a.id}>
          <h3>
            <Link href={`/audits/${a.id}`}>Audit #{a.id}</Link> · {a.status}
            {a.outcome === "passed" ? <span class="badge verified">Audited</span> : null}
          </h3>
          <p class="muted">
            model <span class="mono">{a.modelId.slice(0, 14)}…</span> · θ = {a.theta.num}/{a.theta.den} on {a.numSamples} samples · bounty {eth(a.bounty)} · batches{" "}
            {a.batchesSubmitted}/{a.numBatches}
          </p>
        </article>
      ))}
    </section>
  );
}

export function AuditPage({ id }: { id: number }) {
  const [a, setA] = useState<Audit | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    get<Audit>(`/audits/${id}`).then(setA, (e) => setError(e.message));
  }, [id]);
  if (error) return <ErrorLine error={error} />;
  if (!a) return <p class="muted">Loading…</p>;
  const result =
    a.outcome === null
      ? `in progress: ${a.batchesSubmitted} of ${a.numBatches} batches proven, ${a.totalCorrect} correct so far`
      : `${a.outcome}: ${a.totalCorrect} correct of ${a.samplesProven ?? a.numSamples} samples; the claim was accuracy ≥ ${a.theta.num}/${a.theta.den} on ${a.numSamples} samples`;
  return (
    <section>
      <h1>Audit #{a.id}</h1>
      <p data-testid="audit-result">{result}</p>
      <dl class="kv">
        <dt>Model commitment</dt>
        <dd class="mono">{a.modelId}</dd>
        <dt>Dataset root</dt>
        <dd class="mono">
          {a.datasetRoot} ({a.datasetSize} records)
        </dd>
        <dt>Requester / provider</dt>
        <dd>
          <Addr a={a.requester} /> / <Addr a={a.provider} />
        </dd>
        <dt>Created / finalized</dt>
        <dd>
          <Link href={`/tx/${a.createdTx}`}>{a.createdTx.slice(0, 10)}…</Link> / {a.finalizeTx ? <Link href={`/tx/${a.finalizeTx}`}>{a.finalizeTx.slice(0, 10)}…</Link> : "—"}
        </dd>
      </dl>
      <h2>Batches</h2>
      {(a.batches ?? []).map((b) => (
        <p key={b.index}>
          #{b.index}: {b.count} correct · <Link href={`/tx/${b.tx}`}>proof tx</Link>
        </p>
      ))}
    </section>
  );
}
