#!/usr/bin/env bash
# `make up`: a local trustml stack — Anvil (its chain kept in $STATE across restarts), the
# contracts deployed once and seeded from committed proofs (anvil-scripts/demo), and
# trustml-server (indexer + API, and the web app when frontend/dist is built), waited on until
# the indexer has caught up. Idempotent: what already runs is left running.
#
#   ANVIL_PORT (8545)  SERVER_PORT (8080)  TRUSTML_LOCAL (.trustml-local: chain, database, logs)
#   TRUSTML_MODELS     served listing models for proving jobs (default: the text model and the
#                      image generator, built by models.sh into $TRUSTML_LOCAL/models with the
#                      demo's keys)
#   TRUSTML_DEV (1)    0 hides Anvil's dev accounts from the web app (server --dev)
# `make down` (anvil-scripts/down.sh) stops both by their pids.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
STATE="${TRUSTML_LOCAL:-$ROOT/.trustml-local}"
ANVIL_PORT="${ANVIL_PORT:-8545}"
SERVER_PORT="${SERVER_PORT:-8080}"
mkdir -p "$STATE"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug"
cargo build -q -p trustml-cli -p trustml-server
if [ -d frontend/node_modules ]; then (cd frontend && npm run -s build >/dev/null); fi
if [ -z "${TRUSTML_MODELS:-}" ]; then
  bash anvil-scripts/models.sh "$STATE/models"
  TRUSTML_MODELS="$STATE/models"
fi
t0=$(date +%s)

export ANVIL_PORT ANVIL_STATE_DIR="$STATE"
export ANVIL_ARGS="--state $STATE/chain.json --state-interval 5"
RPC="$(anvil-scripts/start.sh)"
"$BIN/trustml" demo seed --fixtures anvil-scripts/demo --rpc-url "$RPC" --market "$STATE/market.json"

URL="http://127.0.0.1:$SERVER_PORT"
PIDFILE="$STATE/server.pid"
answers() { curl -sf -m 2 "$URL/api/v1/config" >/dev/null 2>&1; }
if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null && answers; then
  echo "trustml-server already runs (pid $(cat "$PIDFILE"))"
else
  if answers; then echo "something else answers on $URL; set SERVER_PORT" >&2; exit 1; fi
  ARGS=(--db "$STATE/trustml.db" --market "$STATE/market.json" --rpc-url "$RPC"
        --listen "127.0.0.1:$SERVER_PORT")
  [ -d frontend/dist ] && ARGS+=(--static-dir frontend/dist)
  ARGS+=(--models "$TRUSTML_MODELS")
  [ "${TRUSTML_DEV:-1}" = 1 ] && ARGS+=(--dev)
  nohup "$BIN/trustml-server" "${ARGS[@]}" >"$STATE/server.log" 2>&1 &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 100); do answers && break; kill -0 "$(cat "$PIDFILE")" 2>/dev/null || break; sleep 0.1; done
  answers || { echo "trustml-server did not start; log:" >&2; tail -20 "$STATE/server.log" >&2; exit 1; }
fi
"$BIN/trustml" demo publish --fixtures anvil-scripts/demo --server "$URL" >/dev/null

# Caught up: the indexer's cursor has reached the chain's head.
HEAD=$(curl -sf -H 'content-type: application/json' \
  -d '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}' "$RPC" |
  python3 -c 'import json,sys; print(int(json.load(sys.stdin)["result"], 16))')
for _ in $(seq 1 300); do
  CUR=$(curl -sf "$URL/api/v1/indexer" | python3 -c 'import json,sys; print(json.load(sys.stdin)["cursor"])')
  [ "$CUR" -ge "$HEAD" ] && break
  sleep 0.2
done
[ "$CUR" -ge "$HEAD" ] || { echo "the indexer is at block $CUR of $HEAD after 60 s; see $STATE/server.log" >&2; exit 1; }
N=$(curl -sf "$URL/api/v1/listings" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')
echo "trustml is up in $(( $(date +%s) - t0 )) s: chain $RPC, indexed to block $CUR, $N listings"
if [ -d frontend/dist ]; then echo "  open $URL/"; else echo "  API $URL/api/v1/listings (the web app appears at $URL/ once frontend/ is built)"; fi
echo "  stop with: make down"
