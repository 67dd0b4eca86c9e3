-- Off-chain state: listing metadata bound by hash, content-addressed artifacts, Sign-In With
-- Ethereum sessions, and proving jobs as users see them (the queue itself is apalis's
-- `Jobs` and `Workers`: SQLite names ignore case, so ours are `proving_jobs…`).

-- sha256 of the seller's metadata document, from the `Listed` event (0x-hex; all zeros: none).
ALTER TABLE listings ADD COLUMN metadata_hash TEXT NOT NULL DEFAULT '';
CREATE INDEX listings_metadata ON listings (metadata_hash);

-- Immutable blobs addressed by their sha256 (metadata documents, proofs, ciphertexts). Kept in
-- the database so that server instances behind a load balancer share them.
CREATE TABLE artifacts (
    sha256 TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    media_type TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    body BYTEA NOT NULL
);

-- Artifacts that parse as listing metadata, with what listing queries search and show.
-- `example_hash` = Poseidon(example output ‖ 0), decimal: the document's output matches a
-- listing when it equals the listing's output hash.
CREATE TABLE listing_metadata (
    sha256 TEXT PRIMARY KEY REFERENCES artifacts (sha256),
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    tags TEXT NOT NULL,
    example_hash TEXT NOT NULL,
    search TEXT NOT NULL
);

-- Gas of the transactions that verified a proof (fetched once, on first view).
CREATE TABLE tx_gas (
    tx_hash TEXT PRIMARY KEY,
    gas_used BIGINT NOT NULL
);

-- SIWE: nonces handed out (single use, short-lived) and sessions (the token's sha256).
CREATE TABLE siwe_nonces (
    nonce TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE TABLE sessions (
    token_sha256 TEXT PRIMARY KEY,
    address TEXT NOT NULL,
    chain_id BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Proving jobs as users see them; the queue's own state is apalis's.
CREATE TABLE proving_jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    owner TEXT NOT NULL,
    params TEXT NOT NULL,
    state TEXT NOT NULL,
    stage TEXT NOT NULL,
    done BIGINT NOT NULL,
    total BIGINT NOT NULL,
    eta_ms BIGINT,
    message TEXT NOT NULL,
    result TEXT,
    cancel_requested BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX proving_jobs_owner ON proving_jobs (owner);

-- Each progress report of a job, in order (what `GET /jobs/{id}/events` replays).
CREATE TABLE proving_job_events (
    job_id TEXT NOT NULL REFERENCES proving_jobs (id),
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
);
