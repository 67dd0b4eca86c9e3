// The browse page: listings from the server, each with the proof and metadata marks that say
// why it can be trusted, and its proven example output drawn as an image.
import { h, render } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { formatEther } from "viem";
import { get, metadataDocument, type Config, type Listing } from "./api";

function Preview({ sha }: { sha: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    metadataDocument(sha).then((doc) => {
      const out = doc.example_output[0];
      const side = Math.round(Math.sqrt(out.values.length));
      const c = canvas.current;
      if (!c || side * side !== out.values.length) return;
      c.width = c.height = side;
      const ctx = c.getContext("2d")!;
      const img = ctx.createImageData(side, side);
      out.values.forEach((v, i) => {
        const g = Math.max(0, Math.min(255, Math.round(v * 255)));
        img.data.set([g, g, g, 255], i * 4);
      });
      ctx.putImageData(img, 0, 0);
    });
  }, [sha]);
  return h("canvas", { ref: canvas, "aria-label": "proven example output" });
}

function Card({ l }: { l: Listing }) {
  const marks = [
    l.verified && h("span", { class: "badge verified", title: "the listing proof was verified on chain" }, "Verified"),
    l.metadataStatus === "matches" &&
      h("span", { class: "badge matches", title: "this description is the one the seller bound on chain" }, "Metadata matches chain"),
    l.metadataStatus === "output_mismatch" && h("span", { class: "badge warn" }, "Example is not the proven output"),
  ];
  return h(
    "article",
    { class: "card", "data-listing": l.id },
    l.metadataStatus === "matches" && l.metadataHash ? h(Preview, { sha: l.metadataHash }) : null,
    h("h2", null, l.metadata?.title ?? `Listing #${l.id}`),
    h("div", null, ...marks),
    h("div", null, `${formatEther(BigInt(l.price))} ETH`),
    h("div", { class: "muted" }, `seller ${l.seller.slice(0, 8)}… · ${l.sales} sold${l.active ? "" : " · closed"}`),
  );
}

function App() {
  const [config, setConfig] = useState<Config | null>(null);
  const [listings, setListings] = useState<Listing[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    get<Config>("/config").then(setConfig, (e) => setError(String(e.message)));
    get<{ items: Listing[] }>("/listings?limit=60").then((p) => setListings(p.items), (e) => setError(String(e.message)));
  }, []);
  return h(
    "div",
    null,
    h(
      "header",
      null,
      h("h1", null, "trustml"),
      h("span", { class: "muted" }, "prompts whose outputs are proven"),
      h("span", { class: "status" }, config ? `chain ${config.chainId}` : "connecting…"),
    ),
    h(
      "main",
      null,
      error && h("p", { class: "error" }, error),
      listings === null
        ? h("p", { class: "muted" }, "Loading listings…")
        : listings.length === 0
          ? h("p", { class: "muted" }, "No listings yet.")
          : h("div", { class: "grid" }, ...listings.map((l) => h(Card, { l, key: l.id }))),
    ),
  );
}

render(h(App, null), document.getElementById("app")!);
