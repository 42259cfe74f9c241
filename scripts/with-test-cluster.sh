#!/usr/bin/env bash
# Run a command against a throwaway three-node Kafka cluster (KRaft, combined
# controller+broker nodes on loopback): free ports and a data directory of its own, so a
# development broker or cluster is untouched. HOTLINE_BROKER names all three nodes,
# KAFKA_CLUSTER_PORTS / KAFKA_CLUSTER_CONTROLLER_PORTS / KAFKA_CLUSTER_DIR let the command
# stop, kill and restart nodes with deploy/kafka/kafka.sh (node-kill N, node-up N, ...).
# The topics are created with three copies and two in sync. The cluster is stopped and
# its data removed when the command ends, whether it passed or not; the command's status
# is kept. Each node gets KAFKA_HEAP_OPTS (-Xms128m -Xmx384m unless set).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

read -r p1 c1 p2 c2 p3 c3 < <(python3 - <<'PY'
import socket
ports = []
sockets = []
for _ in range(6):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    sockets.append(s)
    ports.append(s.getsockname()[1])
print(*ports)
PY
)
data_dir="$(mktemp -d -t hotline-test-cluster.XXXXXX)"
export KAFKA_CLUSTER_PORTS="$p1,$p2,$p3" KAFKA_CLUSTER_CONTROLLER_PORTS="$c1,$c2,$c3" KAFKA_CLUSTER_DIR="$data_dir"
export KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms128m -Xmx384m}"
export HOTLINE_BROKER="127.0.0.1:$p1,127.0.0.1:$p2,127.0.0.1:$p3"

cleanup() {
  "$here/deploy/kafka/kafka.sh" cluster-down || true
  rm -rf "$data_dir"
}
trap cleanup EXIT

"$here/deploy/kafka/kafka.sh" cluster-up
"$here/.venv/bin/hotline" topics create >/dev/null
echo "test cluster on $HOTLINE_BROKER (data in $data_dir)" >&2
status=0
"$@" || status=$?
exit "$status"
