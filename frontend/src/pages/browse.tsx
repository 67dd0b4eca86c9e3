// Browse: listings with the marks that say why they can be trusted, search, filters, sort, paging.
import { useEffect, useState } from "preact/hooks";
import { get, metadataDocument, type Listing } from "../api";
import { eth } from "../format";
import { Link } from "../router";
import { Addr, ErrorLine, ProvenOutput } from "../ui";

function Preview({ sha }: { sha: string }) {
  const [doc, setDoc] = useState<{ values: number[]; digest: string } | null>(null);
  useEffect(() => {
    metadataDocument(sha).then((d) => setDoc({ values: d.example_output[0].values, digest: d.settings_digest }), () => setDoc(null));
  }, [sha]);
  return doc ? <ProvenOutput values={doc.values} digest={doc.digest} label="proven example output" /> : <div class="pixels placeholder" />;
}

export function Marks({ l }: { l: Listing }) {
  return (
    <div class="marks">
      {l.verified ? (
        <span class="badge verified" title="the listing proof was verified on chain when it was listed">
          Verified
        </span>
      ) : null}
      {l.metadataStatus === "matches" ? (
        <span class="badge matches" title="this description is the one the seller bound on chain, and its example is the proven output">
          Metadata matches chain
        </span>
      ) : null}
      {l.metadataStatus === "output_mismatch" ? <span class="badge warn">Example is not the proven output</span> : null}
      {l.metadataStatus === "missing" ? <span class="badge warn">Description not published</span> : null}
    </div>
  );
}

function Card({ l }: { l: Listing }) {
  return (
    <article class="card" data-listing={l.id}>
      <Link href={`/listing/${l.id}`} class="card-link">
        {l.metadataStatus === "matches" && l.metadataHash ? <Preview sha={l.metadataHash} /> : <div class="pixels placeholder" />}
        <h2>{l.metadata?.title ?? `Listing #${l.id}`}</h2>
      </Link>
      <Marks l={l} />
      <div class="price">{eth(l.price)}</div>
      <div class="muted">
        seller <Addr a={l.seller} /> · {l.sales} sold{l.active ? "" : " · closed"}
      </div>
    </article>
  );
}

export function Browse() {
  const [q, setQ] = useState("");
  const [verified, setVerified] = useState(false);
  const [matches, setMatches] = useState(false);
  const [open, setOpen] = useState(true);
  const [sort, setSort] = useState("newest");
  const [items, setItems] = useState<Listing[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const query = (cursor?: string) => {
    const p = new URLSearchParams({ limit: "24", sort });
    if (q.trim()) p.set("q", q.trim());
    if (verified) p.set("verified", "true");
    if (matches) p.set("metadata", "matches");
    if (open) p.set("active", "true");
    if (cursor) p.set("cursor", cursor);
    return `/listings?${p}`;
  };
  const load = (more = false) =>
    get<{ items: Listing[]; next: string | null }>(query(more ? (next ?? undefined) : undefined)).then(
      (p) => {
        setItems(more ? [...(items ?? []), ...p.items] : p.items);
        setNext(p.next);
        setError(null);
      },
      (e) => setError(e.message),
    );
  useEffect(() => {
    const t = setTimeout(() => load(), 200);
    return () => clearTimeout(t);
  }, [q, verified, matches, open, sort]);

  return (
    <section>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <input type="search" placeholder="Search titles, descriptions, tags" value={q} onInput={(e) => setQ(e.currentTarget.value)} aria-label="search" />
        <label>
          <input type="checkbox" checked={verified} onChange={(e) => setVerified(e.currentTarget.checked)} /> Verified
        </label>
        <label>
          <input type="checkbox" checked={matches} onChange={(e) => setMatches(e.currentTarget.checked)} /> Metadata matches chain
        </label>
        <label>
          <input type="checkbox" checked={open} onChange={(e) => setOpen(e.currentTarget.checked)} /> Open for sale
        </label>
        <select value={sort} onChange={(e) => setSort(e.currentTarget.value)} aria-label="sort">
          <option value="newest">Newest</option>
          <option value="price_asc">Price: low to high</option>
          <option value="price_desc">Price: high to low</option>
        </select>
      </form>
      <ErrorLine error={error} />
      {items === null ? (
        <p class="muted">Loading listings…</p>
      ) : items.length === 0 ? (
        <p class="muted">No listings match.</p>
      ) : (
        <div class="grid">
          {items.map((l) => (
            <Card l={l} key={l.id} />
          ))}
        </div>
      )}
      {next ? (
        <button class="more" onClick={() => load(true)}>
          More listings
        </button>
      ) : null}
    </section>
  );
}
