#!/usr/bin/env bash
# Runs a command with the local stack up, and stops the stack afterwards (even when the command
# fails) unless it was already running before, so a developer's own stack is left alone.
set -uo pipefail
cd "$(dirname "$0")/.."
if uv run --frozen kol stack status >/dev/null 2>&1; then
  was_up=1
else
  was_up=0
  uv run --frozen kol stack up || exit 1
  trap 'uv run --frozen kol stack down' EXIT
fi
"$@"
