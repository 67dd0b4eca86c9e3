-- Audits of the AuditEscrow: one row per audit, one per proven batch (projections of
-- chain_events, like listings and orders).
CREATE TABLE audits (
    id BIGINT PRIMARY KEY,
    model_id TEXT NOT NULL,
    requester TEXT NOT NULL,
    provider TEXT NOT NULL,
    bounty TEXT NOT NULL,
    fee TEXT NOT NULL,
    bond TEXT NOT NULL,
    dataset_root TEXT NOT NULL,
    dataset_size TEXT NOT NULL,
    num_samples BIGINT NOT NULL,
    num_batches BIGINT NOT NULL,
    theta_num BIGINT NOT NULL,
    theta_den BIGINT NOT NULL,
    accept_deadline BIGINT NOT NULL,
    prove_window BIGINT NOT NULL,
    status TEXT NOT NULL,
    accept_block BIGINT,
    seed TEXT,
    prove_deadline BIGINT,
    batches_submitted BIGINT NOT NULL,
    total_correct BIGINT NOT NULL,
    outcome TEXT,
    samples_proven TEXT,
    created_tx TEXT NOT NULL,
    finalize_tx TEXT
);
CREATE INDEX audits_model ON audits (model_id);

CREATE TABLE audit_batches (
    audit_id BIGINT NOT NULL REFERENCES audits (id),
    batch_idx BIGINT NOT NULL,
    count BIGINT NOT NULL,
    submitter TEXT NOT NULL,
    tx TEXT NOT NULL,
    PRIMARY KEY (audit_id, batch_idx)
);
