#!/usr/bin/env bash
# Run a command against a throwaway Kafka broker: its own free ports and data directory,
# so a development broker on 9092 is untouched. The broker is stopped and its data
# removed when the command ends, whether it passed or not; the command's status is kept.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

read -r port controller_port < <(python3 - <<'PY'
import socket
ports = []
sockets = []
for _ in range(2):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    sockets.append(s)
    ports.append(s.getsockname()[1])
print(*ports)
PY
)
data_dir="$(mktemp -d -t hotline-test-kafka.XXXXXX)"
export KAFKA_PORT="$port" KAFKA_CONTROLLER_PORT="$controller_port" KAFKA_DATA_DIR="$data_dir"
export HOTLINE_BROKER="127.0.0.1:$port"

cleanup() {
  "$here/deploy/kafka/kafka.sh" down || true
  rm -rf "$data_dir"
}
trap cleanup EXIT

"$here/deploy/kafka/kafka.sh" up
"$here/.venv/bin/hotline" topics create >/dev/null
echo "test broker on $HOTLINE_BROKER (data in $data_dir)" >&2
status=0
"$@" || status=$?
exit "$status"
