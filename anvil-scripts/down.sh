#!/usr/bin/env bash
# `make down`: stops what `make up` started, each by its pid (Anvil writes its chain to
# $TRUSTML_LOCAL/chain.json as it exits, so the next `make up` resumes it).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${TRUSTML_LOCAL:-$ROOT/.trustml-local}"
PIDFILE="$STATE/server.pid"
if [ -f "$PIDFILE" ]; then
  PID="$(cat "$PIDFILE")"
  if kill -0 "$PID" 2>/dev/null; then
    kill "$PID"
    for _ in $(seq 1 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$PID" 2>/dev/null && kill -9 "$PID"
    echo "stopped trustml-server (pid $PID)"
  fi
  rm -f "$PIDFILE"
fi
ANVIL_STATE_DIR="$STATE" ANVIL_PORT="${ANVIL_PORT:-8545}" "$ROOT/anvil-scripts/stop.sh"
