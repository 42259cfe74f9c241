#!/usr/bin/env bash
# `make demo`: use the broker on 127.0.0.1:9092 if one answers, otherwise start one for
# the demo and stop it afterwards; then run `hotline demo` on the bundled sample.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
kafka="$here/deploy/kafka/kafka.sh"
export KAFKA_PORT="${KAFKA_PORT:-9092}"
export HOTLINE_BROKER="${HOTLINE_BROKER:-127.0.0.1:$KAFKA_PORT}"

started_broker=0
if ! "$kafka" status 2>/dev/null; then
  "$kafka" up
  started_broker=1
fi
cleanup() {
  if ((started_broker)); then "$kafka" down; fi
}
trap cleanup EXIT

"$here/.venv/bin/hotline" topics create >/dev/null
"$here/.venv/bin/hotline" demo "$@"
