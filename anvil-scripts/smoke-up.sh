#!/usr/bin/env bash
# `make up` twice on free ports in a scratch directory: the first run deploys and seeds, the
# second resumes the kept chain and database; each must serve the seeded marketplace (three
# listings whose metadata matches the chain, order 1 delivered, the web app at /). Stops everything it started.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
export TRUSTML_LOCAL="$(mktemp -d)" ANVIL_PORT="$(free_port)" SERVER_PORT="$(free_port)"
trap 'bash "$ROOT/anvil-scripts/down.sh" >/dev/null 2>&1 || true; rm -rf "$TRUSTML_LOCAL"' EXIT
URL="http://127.0.0.1:$SERVER_PORT/api/v1"
check() {
  curl -sf "$URL/listings?metadata=matches" | python3 -c '
import json, sys
ids = [l["id"] for l in json.load(sys.stdin)["items"]]
assert ids == [3, 2, 1], ids'
  curl -sf "http://127.0.0.1:$SERVER_PORT/" | grep -q '<div id="app">'
  curl -sf "$URL/orders/1" | python3 -c '
import json, sys
o = json.load(sys.stdin)
assert o["status"] == "delivered", o'
}
for run in first resumed; do
  bash "$ROOT/anvil-scripts/up.sh" >"$TRUSTML_LOCAL/up-$run.log" 2>&1 || { cat "$TRUSTML_LOCAL/up-$run.log"; exit 1; }
  check
  bash "$ROOT/anvil-scripts/down.sh" >/dev/null
  echo "make up ($run): ok"
done
