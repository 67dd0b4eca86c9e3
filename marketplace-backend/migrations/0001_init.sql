-- Portable SQL: the same migration runs on SQLite and Postgres (through sqlx's Any driver).
-- Integers are BIGINT, booleans 0/1, uint256 values decimal TEXT; `price_key` is the price
-- zero-padded to 78 digits so that it sorts as a number.

-- Where the indexer is: the last block whose logs are applied, and its hash.
CREATE TABLE indexer_cursor (
    id BIGINT PRIMARY KEY,
    last_block BIGINT NOT NULL,
    last_hash TEXT NOT NULL
);

-- Hashes of recently indexed blocks (reorg detection walks back through them).
CREATE TABLE block_hashes (
    number BIGINT PRIMARY KEY,
    hash TEXT NOT NULL
);

-- Every log of a trustml contract, decoded; projections are a function of these alone.
CREATE TABLE chain_events (
    tx_hash TEXT NOT NULL,
    log_index BIGINT NOT NULL,
    block_number BIGINT NOT NULL,
    block_hash TEXT NOT NULL,
    contract TEXT NOT NULL,
    name TEXT NOT NULL,
    args TEXT NOT NULL,
    PRIMARY KEY (tx_hash, log_index)
);
CREATE INDEX chain_events_order ON chain_events (block_number, log_index);

CREATE TABLE listings (
    id BIGINT PRIMARY KEY,
    seller TEXT NOT NULL,
    listing_circuit TEXT NOT NULL,
    delivery_circuit TEXT NOT NULL,
    commitment TEXT NOT NULL,
    output_hash TEXT NOT NULL,
    price TEXT NOT NULL,
    price_key TEXT NOT NULL,
    active BIGINT NOT NULL,
    sales BIGINT NOT NULL,
    listed_block BIGINT NOT NULL,
    listed_tx TEXT NOT NULL
);
CREATE INDEX listings_seller ON listings (seller);
CREATE INDEX listings_price ON listings (price_key);

CREATE TABLE orders (
    id BIGINT PRIMARY KEY,
    listing_id BIGINT NOT NULL REFERENCES listings (id),
    buyer TEXT NOT NULL,
    pk_x TEXT NOT NULL,
    pk_y TEXT NOT NULL,
    amount TEXT NOT NULL,
    deadline BIGINT NOT NULL,
    status TEXT NOT NULL,
    delivery_digest TEXT,
    reveal_deadline BIGINT,
    purchase_tx TEXT NOT NULL,
    settle_tx TEXT
);
CREATE INDEX orders_listing ON orders (listing_id);
CREATE INDEX orders_buyer ON orders (buyer);
