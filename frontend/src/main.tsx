// The trustml web app: one page, routed by path; the config (chain, RPC, contracts) comes from
// the server at start, so one build serves every chain.
import { render } from "preact";
import { useEffect } from "preact/hooks";
import { get, type Config } from "./api";
import { AccountPage, AuditPage, Audits, TxPage } from "./pages/chainpages";
import { Browse } from "./pages/browse";
import { Dashboard } from "./pages/dashboard";
import { Library } from "./pages/library";
import { ListingPage } from "./pages/listing";
import { Sell } from "./pages/sell";
import { match, useRoute } from "./router";
import { useStore } from "./store";
import { reconnect } from "./wallet";
import { ErrorLine, Shell, config } from "./ui";

function Page({ c, path }: { c: Config; path: string }) {
  let m;
  if ((m = match("/listing/:id", path))) return <ListingPage c={c} id={Number(m.id)} key={m.id} />;
  if ((m = match("/tx/:hash", path))) return <TxPage c={c} hash={m.hash} key={m.hash} />;
  if ((m = match("/account/:address", path))) return <AccountPage address={m.address} key={m.address} />;
  if ((m = match("/audits/:id", path))) return <AuditPage id={Number(m.id)} key={m.id} />;
  if (match("/library", path)) return <Library c={c} />;
  if (match("/sell", path)) return <Sell c={c} />;
  if (match("/dashboard", path)) return <Dashboard c={c} />;
  if (match("/audits", path)) return <Audits />;
  if (match("/", path)) return <Browse />;
  return <ErrorLine error={`no page at ${path}`} />;
}

function App() {
  const c = useStore(config);
  const path = useRoute();
  useEffect(() => {
    get<Config>("/config").then((x) => (config.set(x), reconnect(x)), (e) => document.body.append(`cannot reach the server: ${e.message}`));
  }, []);
  if (!c) return <p class="muted">Connecting to the server…</p>;
  return (
    <Shell c={c}>
      <Page c={c} path={path} />
    </Shell>
  );
}

render(<App />, document.getElementById("app")!);
