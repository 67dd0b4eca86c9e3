#!/usr/bin/env bash
# Start a local Anvil (from the repo's npm packages) on 127.0.0.1:$ANVIL_PORT (default 8545).
# Idempotent: if the pid file names a live anvil that answers, it just prints its URL.
# State: $ANVIL_STATE_DIR (default <repo>/.anvil) holds anvil-$PORT.pid and anvil-$PORT.log.
# Extra anvil flags: $ANVIL_ARGS (e.g. "--state FILE --state-interval 5" to keep the chain).
# Prints the RPC URL on stdout.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PORT="${ANVIL_PORT:-8545}"
STATE="${ANVIL_STATE_DIR:-$ROOT/.anvil}"
PIDFILE="$STATE/anvil-$PORT.pid"
LOG="$STATE/anvil-$PORT.log"
URL="http://127.0.0.1:$PORT"
ANVIL="$ROOT/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
[ -x "$ANVIL" ] || ANVIL="$ROOT/node_modules/.bin/anvil"
[ -x "$ANVIL" ] || { echo "anvil not found: run \`npm ci\` in $ROOT" >&2; exit 1; }
mkdir -p "$STATE"

answers() {
  curl -sf -m 2 -H 'content-type: application/json' \
    -d '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "$URL" 2>/dev/null | grep -q '"result"'
}

if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
  if answers; then echo "$URL"; exit 0; fi
  echo "anvil (pid $(cat "$PIDFILE")) is running but does not answer on $URL; see $LOG" >&2
  exit 1
fi
if answers; then
  echo "something else already answers JSON-RPC on $URL (not started by this script); set ANVIL_PORT" >&2
  exit 1
fi

# shellcheck disable=SC2086 # ANVIL_ARGS is a list of flags
nohup "$ANVIL" --host 127.0.0.1 --port "$PORT" --chain-id 31337 ${ANVIL_ARGS:-} >"$LOG" 2>&1 &
echo $! >"$PIDFILE"
for _ in $(seq 1 100); do
  if answers; then echo "$URL"; exit 0; fi
  if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    echo "anvil exited; log:" >&2; tail -20 "$LOG" >&2; rm -f "$PIDFILE"; exit 1
  fi
  sleep 0.1
done
echo "anvil did not answer on $URL within 10 s; see $LOG" >&2
exit 1
