#!/usr/bin/env bash
# Stop the anvil that start.sh started on $ANVIL_PORT (default 8545), by its pid file.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PORT="${ANVIL_PORT:-8545}"
STATE="${ANVIL_STATE_DIR:-$ROOT/.anvil}"
PIDFILE="$STATE/anvil-$PORT.pid"
if [ ! -f "$PIDFILE" ]; then echo "no anvil started on port $PORT ($PIDFILE missing)"; exit 0; fi
PID="$(cat "$PIDFILE")"
if kill -0 "$PID" 2>/dev/null; then
  kill "$PID"
  for _ in $(seq 1 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$PID" 2>/dev/null && kill -9 "$PID"
  echo "stopped anvil (pid $PID) on port $PORT"
else
  echo "anvil (pid $PID) was not running"
fi
rm -f "$PIDFILE"
