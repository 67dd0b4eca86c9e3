// Pieces every page uses: the header (wallet, network, dev banner), the indexer status line,
// addresses and transactions, the example-output image, progress bars, error lines.
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { get, me, signIn, type Config, type ModelInfo } from "./api";
import { shortAddr } from "./format";
import { modelFor, textOf } from "./models";
import { Link } from "./router";
import { Store, useStore } from "./store";
import { DEV_ROLES, connect, connectDev, devAddress, disconnect, discover, signText, switchToChain, wallet, walletOptions } from "./wallet";

export const config = new Store<Config | null>(null);
/** The account signed in to the server (SIWE), for uploads and jobs. */
export const session = new Store<string | null>(null);

/** Counts the marketplace events the indexer has applied since the page opened (the server's
 *  SSE stream): pages that show chain state re-read it when this changes. */
export const chainEvents = new Store(0);
let stream: EventSource | null = null;
function followChain() {
  if (stream) return;
  stream = new EventSource("/api/v1/events");
  const bump = () => chainEvents.update((n) => n + 1);
  stream.onmessage = bump;
  for (const name of ["Listed", "ListingCancelled", "Purchased", "DeliveryCommitted", "Delivered", "Refunded", "Credited", "Withdrawn", "Reorg"]) {
    stream.addEventListener(name, bump);
  }
}

export function useConfig(): Config | null {
  return useStore(config);
}

export const Addr = ({ a }: { a: string }) => (
  <Link href={`/account/${a}`} class="addr">
    <span title={a}>{shortAddr(a)}</span>
  </Link>
);

export const TxLink = ({ hash, label }: { hash: string; label?: string }) => (
  <Link href={`/tx/${hash}`} class="mono">
    {label ?? `${hash.slice(0, 10)}…`}
  </Link>
);

export const ErrorLine = ({ error }: { error: string | null | undefined }) =>
  error ? (
    <p class={error === "cancelled" ? "muted" : "error"} role="alert">
      {error === "cancelled" ? "Cancelled in the wallet." : error}
    </p>
  ) : null;

/**
 * A listing's proven output as its model shows it: a text model's completion (after the
 * hidden prompt), else the generator's image.
 */
export function ProvenOutput({ values, digest, size = 96, label }: { values: number[]; digest: string | null | undefined; size?: number; label: string }) {
  const [m, setM] = useState<ModelInfo | null | undefined>(undefined);
  useEffect(() => {
    if (!digest) return setM(null);
    modelFor(digest).then(setM, () => setM(null));
  }, [digest]);
  if (m === undefined) return <div class="pixels placeholder" style={{ width: `${size}px`, height: `${size}px` }} />;
  const text = m ? textOf(m, values) : null;
  if (m?.text && text !== null) {
    return (
      <p class="completion" aria-label={label} data-testid="completion" style={{ maxWidth: `${Math.max(size, 160)}px` }}>
        <span class="hidden-prompt" title="the hidden prompt: you get it when you buy">
          {"•".repeat(m.text.promptLen)}
        </span>
        <mark>{text}</mark>
      </p>
    );
  }
  return <Pixels values={values} size={size} label={label} />;
}

/** A grey image from values in [0, 1] (a square number of them), drawn pixel for pixel. */
export function Pixels({ values, size = 96, label }: { values: number[]; size?: number; label: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const side = Math.round(Math.sqrt(values.length));
    const c = canvas.current;
    if (!c || side * side !== values.length) return;
    c.width = c.height = side;
    const ctx = c.getContext("2d")!;
    const img = ctx.createImageData(side, side);
    values.forEach((v, i) => {
      const g = Math.max(0, Math.min(255, Math.round(v * 255)));
      img.data.set([g, g, g, 255], i * 4);
    });
    ctx.putImageData(img, 0, 0);
  }, [values]);
  return <canvas ref={canvas} aria-label={label} style={{ width: `${size}px`, height: `${size}px` }} class="pixels" />;
}

export function Progress({ done, total, label }: { done: number; total: number; label: string }) {
  const pct = total > 0 ? Math.min(100, Math.round((100 * done) / total)) : 0;
  return (
    <div class="progress" role="progressbar" aria-valuenow={pct} aria-valuemin={0} aria-valuemax={100} aria-label={label}>
      <div class="bar" style={{ width: `${pct}%` }} />
      <span>
        {label} {total > 0 ? `${pct}%` : ""}
      </span>
    </div>
  );
}

/** "synced to block N" — or what is wrong with the index. */
export function StatusLine() {
  const [text, setText] = useState("indexer: …");
  const [bad, setBad] = useState(false);
  useEffect(() => {
    let stop = false;
    const tick = async () => {
      try {
        const s = await get<{ cursor: number; head: number; lag: number }>("/indexer");
        setText(s.lag ? `synced to block ${s.cursor} of ${s.head} (catching up)` : `synced to block ${s.cursor}`);
        setBad(false);
      } catch (e) {
        setText(`indexer: ${(e as Error).message}`);
        setBad(true);
      }
      if (!stop) setTimeout(tick, 3000);
    };
    tick();
    return () => {
      stop = true;
    };
  }, []);
  return (
    <footer class={bad ? "status-line error" : "status-line"} data-testid="indexer-status">
      {text}
    </footer>
  );
}

function WalletMenu({ c }: { c: Config }) {
  const w = useStore(wallet);
  const options = useStore(walletOptions);
  const signed = useStore(session);
  const [open, setOpen] = useState(false);
  useEffect(discover, []);
  if (w.status === "connected" && w.account) {
    const wrong = w.chainId !== c.chainId;
    return (
      <div class="wallet">
        {wrong ? (
          <button class="pill bad" onClick={() => switchToChain(c)} data-testid="switch-chain">
            Wrong network ({w.chainId}) — switch to {c.chainId}
          </button>
        ) : (
          <span class="pill ok">chain {c.chainId}</span>
        )}
        <span class="acct" data-testid="account" title={w.account}>
          {w.kind === "dev" ? `${w.name} · ` : ""}
          {shortAddr(w.account)}
        </span>
        {signed?.toLowerCase() === w.account.toLowerCase() ? <span class="pill ok">signed in</span> : null}
        <button class="link" onClick={disconnect}>
          Disconnect
        </button>
        {w.notice ? <ErrorLine error={w.notice} /> : null}
      </div>
    );
  }
  return (
    <div class="wallet">
      <button onClick={() => setOpen(!open)} data-testid="connect" disabled={w.status === "connecting"}>
        {w.status === "connecting" ? "Connecting…" : "Connect wallet"}
      </button>
      {w.notice ? <ErrorLine error={w.notice} /> : null}
      {open ? (
        <div class="menu" role="menu">
          {options.length === 0 ? <p class="muted">No browser wallet found (EIP-6963 or window.ethereum).</p> : null}
          {options.map((o) => (
            <button key={o.id} role="menuitem" onClick={() => (setOpen(false), connect(o))} data-testid={`wallet-${o.name}`}>
              {o.icon ? <img src={o.icon} alt="" width={16} height={16} /> : null} {o.name}
            </button>
          ))}
          {c.devAccounts ? (
            <div class="dev">
              <p class="muted">Local dev keys (Anvil's public test keys — never use them elsewhere):</p>
              {DEV_ROLES.map((role, i) => (
                <button key={role} role="menuitem" onClick={() => (setOpen(false), connectDev(c, i))} data-testid={`dev-${i}`}>
                  {role} {shortAddr(devAddress(i))}
                </button>
              ))}
            </div>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}

/** Signs in to the server (SIWE) with the connected wallet; `null` or what went wrong. */
export async function ensureSignedIn(): Promise<string | null> {
  const w = wallet.get();
  if (!w.account) return "connect a wallet first";
  if (session.get()?.toLowerCase() === w.account.toLowerCase()) return null;
  try {
    session.set(await signIn(w.account, signText));
    return null;
  } catch (e) {
    const m = (e as Error).message;
    return /reject|denied|4001/i.test(m) ? "cancelled" : m;
  }
}

export function Shell({ c, children }: { c: Config; children: ComponentChildren }) {
  const w = useStore(wallet);
  useEffect(() => {
    me().then((a) => session.set(a));
    followChain();
  }, []);
  return (
    <div>
      {w.kind === "dev" ? (
        <div class="dev-banner" data-testid="dev-banner">
          LOCAL DEV KEY — signing with Anvil's public test account "{w.name}". Anyone can use this key; it exists only on this local chain.
        </div>
      ) : null}
      <header>
        <Link href="/" class="brand">
          trustml
        </Link>
        <nav>
          <Link href="/">Browse</Link>
          <Link href="/library">Library</Link>
          <Link href="/sell">Sell</Link>
          <Link href="/dashboard">Dashboard</Link>
          <Link href="/audits">Audits</Link>
        </nav>
        <WalletMenu c={c} />
      </header>
      <main>{children}</main>
      <StatusLine />
    </div>
  );
}
