// A listing: its description, the proven example output, the proof panel (why it can be
// trusted), the seller's record — and the buy stepper.
import { useEffect, useReducer, useState } from "preact/hooks";
import { parseEventLogs, type Address } from "viem";
import { ApiError, get, metadataDocument, type Account, type Config, type Listing, type ModelInfo, type Order } from "../api";
import { initial, step, stepIndex, STEPS } from "../buyflow";
import { MARKET_ABI, explain, publicClient, read, send } from "../chain";
import { BASE8 } from "../crypto/babyjubjub";
import { toHex } from "../crypto/field";
import { modelFor } from "../models";
import { countdown, duration, eth, gas, gasCost } from "../format";
import { buyerKey } from "../purchase";
import { Link } from "../router";
import { useStore } from "../store";
import { Addr, ErrorLine, ProvenOutput, TxLink, chainEvents } from "../ui";
import { ready, wallet } from "../wallet";
import { Marks } from "./browse";
import { Decrypt } from "./library";

/** Order `id`, re-read whenever the indexer applies a chain event (and every 5 s). */
export function useOrder(id: number | null): Order | null {
  const [o, setO] = useState<Order | null>(null);
  const events = useStore(chainEvents);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const t = setInterval(() => setTick((n) => n + 1), 5000);
    return () => clearInterval(t);
  }, []);
  useEffect(() => {
    if (id === null) return;
    let alive = true;
    get<Order>(`/orders/${id}`).then(
      (x) => alive && setO(x),
      () => {},
    );
    return () => {
      alive = false;
    };
  }, [id, events, tick]);
  return o;
}

export function useNow(): number {
  const [now, setNow] = useState(Date.now() / 1000);
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now() / 1000), 1000);
    return () => clearInterval(t);
  }, []);
  return now;
}

/** The chain's time (Anvil may be ahead of the wall clock after time travel). */
export function useChainNow(c: Config): number {
  const wall = useNow();
  const [offset, setOffset] = useState(0);
  useEffect(() => {
    publicClient(c)
      .getBlock()
      .then((b) => setOffset(Number(b.timestamp) - Date.now() / 1000))
      .catch(() => {});
  }, [Math.floor(wall / 10)]);
  return wall + Math.max(0, offset);
}

function BuyPanel({ c, l }: { c: Config; l: Listing }) {
  const w = useStore(wallet);
  const [s, dispatch] = useReducer(step, initial);
  const [orderId, setOrderId] = useState<number | null>(null);
  const [estimate, setEstimate] = useState<string | null>(null);
  const [deliveryWindow, setDeliveryWindow] = useState<number | null>(null);
  const order = useOrder(orderId);
  const now = useChainNow(c);

  useEffect(() => {
    read<bigint>(c, "deliveryWindow").then((x) => setDeliveryWindow(Number(x)), () => {});
  }, []);
  useEffect(() => {
    if (!w.account) return setEstimate(null);
    const pub = publicClient(c);
    Promise.all([
      pub.estimateContractGas({
        address: c.contracts.marketplace as Address,
        abi: MARKET_ABI,
        functionName: "buy",
        args: [BigInt(l.id), BASE8.x, BASE8.y],
        value: BigInt(l.price),
        account: w.account,
      }),
      pub.getGasPrice(),
    ]).then(
      ([g, p]) => setEstimate(`${gas(g)} ${gasCost(g, p)}`),
      (e) => setEstimate(`cannot buy: ${explain(e).message}`),
    );
  }, [w.account, w.chainId]);
  useEffect(() => {
    if (order) dispatch({ type: "order", order, now });
  }, [order]);
  useEffect(() => {
    dispatch({ type: "tick", now, order });
  }, [Math.floor(now)]);

  const buy = async () => {
    const r = ready(c);
    if (typeof r === "string") return dispatch({ type: "failed", message: r });
    dispatch({ type: "start" });
    let key;
    try {
      key = await buyerKey(c, r.account);
    } catch (e) {
      const t = explain(e);
      return dispatch(t.kind === "cancelled" ? { type: "cancelled" } : { type: "failed", message: t.message });
    }
    dispatch({ type: "keyed" });
    try {
      const receipt = await send(c, r.client, r.account, { functionName: "buy", args: [BigInt(l.id), key.public.x, key.public.y], value: BigInt(l.price) }, (tx) =>
        dispatch({ type: "sent", tx }),
      );
      const [ev] = parseEventLogs({ abi: MARKET_ABI, logs: receipt.logs, eventName: "Purchased" }) as unknown as { args: { orderId: bigint } }[];
      setOrderId(Number(ev.args.orderId));
    } catch (e) {
      const t = explain(e);
      dispatch(t.kind === "cancelled" ? { type: "cancelled" } : { type: "failed", message: t.message });
    }
  };

  const p = s.phase;
  const at = stepIndex(p);
  return (
    <section class="panel buy" data-testid="buy">
      <ol class="stepper">
        {STEPS.map((name, i) => (
          <li key={name} class={i < at ? "done" : i === at ? "current" : ""}>
            {name}
          </li>
        ))}
      </ol>
      {p.at === "review" ? (
        <div>
          <p>
            Price <b>{eth(l.price)}</b>, escrowed by the contract until the delivery proof verifies on chain. The seller has{" "}
            {deliveryWindow ? duration(deliveryWindow * 1000) : "…"} to deliver; otherwise you take a refund.
          </p>
          <p class="muted">{w.account ? `Gas: ${estimate ?? "estimating…"}` : "Connect a wallet to buy."}</p>
          <p class="muted">
            Buying asks for two signatures: one message (it derives the key your prompt is encrypted to; no transaction), then the payment.
          </p>
          <button onClick={buy} disabled={!l.active || !w.account} data-testid="buy-button">
            {l.active ? `Buy for ${eth(l.price)}` : "Closed"}
          </button>
        </div>
      ) : null}
      {p.at === "key" ? <p>Sign the key message in your wallet…</p> : null}
      {p.at === "pay" ? (
        <div>
          <p>Confirm the payment of {eth(l.price)} in your wallet…</p>
          {s.notice ? (
            <button onClick={buy} data-testid="retry">
              Try again
            </button>
          ) : null}
        </div>
      ) : null}
      {p.at === "pending" ? (
        <p>
          Payment sent (<TxLink hash={p.tx} />); waiting for it to be mined and indexed…
        </p>
      ) : null}
      {p.at === "waiting" ? (
        <p data-testid="waiting">
          Order #{p.orderId} is paid. Waiting for the seller's delivery — <b>{countdown(p.deadline, now)}</b> left.
        </p>
      ) : null}
      {p.at === "committed" ? (
        <p>The seller committed to a delivery; the proof must be revealed within {countdown(p.revealDeadline, now)}.</p>
      ) : null}
      {p.at === "refundable" ? (
        <p>
          The deadline passed without a delivery. Take your refund in the <Link href="/library">library</Link>.
        </p>
      ) : null}
      {p.at === "refunded" ? <p>Refunded; withdraw it in the library.</p> : null}
      {p.at === "delivered" && order ? (
        <div>
          <p data-testid="delivered">Delivered: the delivery proof verified on chain.</p>
          <Decrypt c={c} o={order} l={l} />
        </div>
      ) : null}
      <ErrorLine error={s.notice} />
    </section>
  );
}

function ProofPanel({ l, digest }: { l: Listing; digest: string | null }) {
  const [m, setM] = useState<ModelInfo | null>(null);
  useEffect(() => {
    if (digest) modelFor(digest).then(setM, () => setM(null));
  }, [digest]);
  const p = l.proof;
  if (!p) return null;
  return (
    <section class="panel" data-testid="proof-panel">
      <h3>Proof</h3>
      <dl class="kv">
        <dt>Statement</dt>
        <dd>
          {m?.text
            ? `The seller knows a ${m.text.promptLen}-character prompt P and a salt with C = Poseidon(P ‖ completion ‖ salt) such that the public language model, decoding greedily, continues P with the ${m.text.completionLen}-character completion (each character its most likely next one), whose hash is H; the proof is bound to the seller's address.`
            : "The seller knows a prompt P and salt with C = Poseidon(P ‖ salt) such that the public model's output on P hashes to H; the proof is bound to the seller's address."}
        </dd>
        <dt>Listing circuit</dt>
        <dd class="mono">{p.listingCircuitId}</dd>
        <dt>vk digest (pinned)</dt>
        <dd class="mono">{p.listingVkDigest ?? "—"}</dd>
        <dt>Verifier</dt>
        <dd class="mono">{p.listingVerifier ? <Addr a={p.listingVerifier} /> : "—"}</dd>
        <dt>Commitment C</dt>
        <dd class="mono">{toHex(BigInt(l.commitment))}</dd>
        <dt>Output hash H</dt>
        <dd class="mono">{toHex(BigInt(l.outputHash))}</dd>
        <dt>Shown output hashes to H</dt>
        <dd data-testid="output-matches">{p.exampleOutputMatches === null ? "no example published" : p.exampleOutputMatches ? "yes" : "NO"}</dd>
        <dt>Verified in</dt>
        <dd>
          <TxLink hash={p.verifyTx} /> {p.verifyGas ? `(${gas(p.verifyGas)})` : ""}
        </dd>
        <dt>Delivery circuit</dt>
        <dd class="mono">{p.deliveryCircuitId}</dd>
      </dl>
    </section>
  );
}

export function ListingPage({ c, id }: { c: Config; id: number }) {
  const [l, setL] = useState<Listing | null>(null);
  const [example, setExample] = useState<{ values: number[]; digest: string } | null>(null);
  const [seller, setSeller] = useState<Account | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [waiting, setWaiting] = useState(false);
  useEffect(() => {
    let alive = true;
    // A listing just sent may be a block ahead of the index: wait for it (30 s) before saying it does not exist.
    const load = (tries: number) =>
      get<Listing>(`/listings/${id}`).then(
        (x) => {
          if (!alive) return;
          setL(x);
          setWaiting(false);
          if (x.metadataStatus === "matches" && x.metadataHash) metadataDocument(x.metadataHash).then((d) => setExample({ values: d.example_output[0].values, digest: d.settings_digest }));
          get<Account>(`/accounts/${x.seller}`).then(setSeller, () => {});
        },
        (e) => {
          if (!alive) return;
          if (e instanceof ApiError && e.status === 404 && tries > 0) {
            setWaiting(true);
            setTimeout(() => load(tries - 1), 1000);
          } else setError(e.message);
        },
      );
    load(30);
    return () => {
      alive = false;
    };
  }, [id]);
  if (error) return <ErrorLine error={error} />;
  if (!l) return <p class="muted">{waiting ? "Waiting for the indexer to see this listing…" : "Loading…"}</p>;
  return (
    <div class="listing">
      <div class="listing-head">
        {example ? <ProvenOutput values={example.values} digest={example.digest} size={192} label="proven example output" /> : <div class="pixels placeholder big" />}
        <div>
          <h1>{l.metadata?.title ?? `Listing #${l.id}`}</h1>
          <Marks l={l} />
          <p class="price">{eth(l.price)}</p>
          <p>{l.metadata?.description ?? "The seller published no description."}</p>
          <p class="muted">{l.metadata?.tags.map((t) => `#${t}`).join(" ")}</p>
          <p class="muted">
            Seller <Addr a={l.seller} />
            {seller
              ? ` · ${seller.seller.listings} listings · ${seller.seller.orders.delivered ?? 0} delivered · ${seller.seller.orders.refunded ?? 0} refunded`
              : ""}
          </p>
        </div>
      </div>
      <BuyPanel c={c} l={l} />
      <ProofPanel l={l} digest={example?.digest ?? null} />
    </div>
  );
}
