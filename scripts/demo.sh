#!/usr/bin/env bash
# `make demo`: run `hotline demo` on the bundled sample.
#
# With a broker already on 127.0.0.1:9092 (`make kafka-up`), the demo uses it under an
# app id of its own (a new consumer group and new tables), so earlier runs cannot change
# what it shows. Otherwise it starts a broker of its own in a temporary data directory
# and removes it afterwards.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
kafka="$here/deploy/kafka/kafka.sh"
export KAFKA_PORT="${KAFKA_PORT:-9092}"
export HOTLINE_BROKER="${HOTLINE_BROKER:-127.0.0.1:$KAFKA_PORT}"

data_dir=""
cleanup() {
  if [[ -n "$data_dir" ]]; then
    KAFKA_DATA_DIR="$data_dir" "$kafka" down
    rm -rf "$data_dir"
  fi
}
trap cleanup EXIT

if "$kafka" status 2>/dev/null; then
  export HOTLINE_APP_ID="${HOTLINE_APP_ID:-hotline-demo-$(date +%s)}"
  echo "demo: using the broker on $HOTLINE_BROKER with app id $HOTLINE_APP_ID" >&2
else
  data_dir="$(mktemp -d -t hotline-demo-kafka.XXXXXX)"
  KAFKA_DATA_DIR="$data_dir" "$kafka" up
fi

"$here/.venv/bin/hotline" topics create >/dev/null
"$here/.venv/bin/hotline" demo "$@"
