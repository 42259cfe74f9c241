#!/usr/bin/env bash
# Local Apache Kafka (KRaft) without Docker: one node, or a cluster of three.
#
#   kafka.sh fetch     copy the broker jars from Maven Central into the cache (once)
#   kafka.sh up        format storage if new, start the broker, wait until it answers
#   kafka.sh down      stop the broker started by `up` with the same port
#   kafka.sh status    say whether a broker answers on the port
#
#   kafka.sh cluster-up           three combined controller+broker nodes (ids 1-3) on
#                                 loopback: format storage if new, start, wait for all
#   kafka.sh cluster-down         stop every node of the cluster
#   kafka.sh cluster-status       per node: process, port, and the quorum's leader;
#                                 exits 1 unless every node answers
#   kafka.sh node-up N            start node N again (on its ports and data)
#   kafka.sh node-down N          stop node N cleanly (SIGTERM)
#   kafka.sh node-kill N          kill node N with SIGKILL, as a crash
#   kafka.sh node-pid N           print node N's process id
#   kafka.sh cluster-topics ARGS  Kafka's kafka-topics tool against the cluster,
#                                 e.g. `kafka.sh cluster-topics --describe`
#   kafka.sh topics ARGS          the same against the single broker
#
# Environment, one node: KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (KAFKA_PORT+1),
# KAFKA_DATA_DIR (~/.cache/hotline/broker-$KAFKA_PORT), KAFKA_HEAP_OPTS (-Xms256m -Xmx1g).
# Cluster: KAFKA_CLUSTER_PORTS (9192,9194,9196: the nodes' client ports),
# KAFKA_CLUSTER_CONTROLLER_PORTS (each client port + 1),
# KAFKA_CLUSTER_DIR (~/.cache/hotline/cluster-<first port>), KAFKA_HEAP_OPTS
# (-Xms128m -Xmx384m per node). Both: HOTLINE_CACHE_DIR (~/.cache/hotline),
# KAFKA_START_TIMEOUT_SECONDS (90).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
kafka_version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")"
cache_dir="${HOTLINE_CACHE_DIR:-$HOME/.cache/hotline}"
libs_dir="$cache_dir/kafka-$kafka_version/libs"
port="${KAFKA_PORT:-9092}"
controller_port="${KAFKA_CONTROLLER_PORT:-$((port + 1))}"
data_dir="${KAFKA_DATA_DIR:-$cache_dir/broker-$port}"
pid_file="$data_dir/broker.pid"
start_timeout="${KAFKA_START_TIMEOUT_SECONDS:-90}"

say() { echo "kafka: $*" >&2; }

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

fetch() {
  if [[ -f "$libs_dir/.complete" ]]; then return 0; fi
  say "fetching Apache Kafka $kafka_version jars into $libs_dir (first run only)"
  rm -rf "$libs_dir.partial"
  mvn -q -B -Dstyle.color=never -f "$here/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$libs_dir.partial"
  rm -rf "$libs_dir"
  mv "$libs_dir.partial" "$libs_dir"
  touch "$libs_dir/.complete"
}

kafka_java() {
  # shellcheck disable=SC2086
  java ${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g} -XX:+UseG1GC \
    -Dlog4j2.configurationFile="$here/log4j2.properties" \
    -Dkafka.logs.dir="${tool_logs_dir:-$data_dir/logs}" \
    -cp "$libs_dir/*" "$@"
}

overrides=()
set_overrides() {
  overrides=(
    --override "listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port"
    --override "advertised.listeners=PLAINTEXT://127.0.0.1:$port"
    --override "controller.quorum.bootstrap.servers=127.0.0.1:$controller_port"
    --override "log.dirs=$data_dir/data"
  )
}

up() {
  if answers "$port"; then
    say "a broker already answers on 127.0.0.1:$port; using it"
    return 0
  fi
  fetch
  mkdir -p "$data_dir/logs"
  set_overrides
  if [[ ! -f "$data_dir/data/meta.properties" ]]; then
    cluster_id="$(kafka_java kafka.tools.StorageTool random-uuid)"
    say "formatting storage in $data_dir/data (cluster $cluster_id)"
    # StorageTool takes a properties file only, so write the overridden copy it needs.
    sed -e "s#^listeners=.*#listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port#" \
        -e "s#^advertised.listeners=.*#advertised.listeners=PLAINTEXT://127.0.0.1:$port#" \
        -e "s#^controller.quorum.bootstrap.servers=.*#controller.quorum.bootstrap.servers=127.0.0.1:$controller_port#" \
        -e "s#^log.dirs=.*#log.dirs=$data_dir/data#" \
        "$here/server.properties" > "$data_dir/server.properties"
    kafka_java kafka.tools.StorageTool format --standalone -t "$cluster_id" \
      -c "$data_dir/server.properties" >"$data_dir/logs/format.log"
  fi
  say "starting broker on 127.0.0.1:$port (data in $data_dir)"
  # shellcheck disable=SC2086
  nohup java ${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g} -XX:+UseG1GC \
    -Dlog4j2.configurationFile="$here/log4j2.properties" \
    -Dkafka.logs.dir="$data_dir/logs" \
    -cp "$libs_dir/*" kafka.Kafka "$here/server.properties" "${overrides[@]}" \
    >"$data_dir/logs/stdout.log" 2>&1 </dev/null &
  echo $! >"$pid_file"
  local waited=0
  until answers "$port" && grep -q "Kafka Server started" "$data_dir/logs/server.log" 2>/dev/null; do
    if ! kill -0 "$(cat "$pid_file")" 2>/dev/null; then
      say "broker exited during start-up; last lines of $data_dir/logs/stdout.log:"
      tail -20 "$data_dir/logs/stdout.log" >&2
      exit 1
    fi
    if (( waited >= start_timeout * 2 )); then
      say "broker did not answer within ${start_timeout}s; see $data_dir/logs/server.log"
      exit 1
    fi
    sleep 0.5
    waited=$((waited + 1))
  done
  say "broker ready on 127.0.0.1:$port after $((waited / 2))s"
}

down() {
  if [[ ! -f "$pid_file" ]]; then
    say "no broker started by this script on port $port"
    return 0
  fi
  local pid
  pid="$(cat "$pid_file")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 60); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
      say "broker $pid did not stop in 30s; killing it"
      kill -9 "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$pid_file"
  say "broker on port $port stopped"
}

status() {
  if answers "$port"; then say "a broker answers on 127.0.0.1:$port"; else say "nothing answers on 127.0.0.1:$port"; exit 1; fi
}

# --- a cluster of three combined controller+broker nodes ----------------------------------
# Each node has its own client and controller port on 127.0.0.1, its own data directory
# under the cluster's, and the same static controller quorum (nodes 1-3). Topics the
# brokers create themselves (consumer offsets, transaction state) get three replicas and
# need two in sync, as hotline's own topics do (HOTLINE_REPLICATION_FACTOR).

cluster_ports=()
cluster_controller_ports=()
cluster_dir=""
cluster_heap="${KAFKA_HEAP_OPTS:--Xms128m -Xmx384m}"

cluster_settings() {
  IFS=, read -r -a cluster_ports <<<"${KAFKA_CLUSTER_PORTS:-9192,9194,9196}"
  if [[ -n "${KAFKA_CLUSTER_CONTROLLER_PORTS:-}" ]]; then
    IFS=, read -r -a cluster_controller_ports <<<"$KAFKA_CLUSTER_CONTROLLER_PORTS"
  else
    cluster_controller_ports=()
    for p in "${cluster_ports[@]}"; do cluster_controller_ports+=("$((p + 1))"); done
  fi
  if (( ${#cluster_ports[@]} != 3 || ${#cluster_controller_ports[@]} != 3 )); then
    say "KAFKA_CLUSTER_PORTS and KAFKA_CLUSTER_CONTROLLER_PORTS name three ports each"
    exit 2
  fi
  cluster_dir="${KAFKA_CLUSTER_DIR:-$cache_dir/cluster-${cluster_ports[0]}}"
  tool_logs_dir="$cluster_dir/tool-logs"
}

node_index() {
  local node="$1"
  if [[ ! "$node" =~ ^[123]$ ]]; then say "node must be 1, 2 or 3, got '${node}'"; exit 2; fi
  echo $((node - 1))
}

node_dir() { echo "$cluster_dir/node-$1"; }

cluster_bootstrap() {
  local IFS=,
  local servers=()
  for p in "${cluster_ports[@]}"; do servers+=("127.0.0.1:$p"); done
  echo "${servers[*]}"
}

write_node_properties() {
  local node="$1" i port controller_port dir voters=()
  i="$(node_index "$node")"
  port="${cluster_ports[$i]}"
  controller_port="${cluster_controller_ports[$i]}"
  dir="$(node_dir "$node")"
  for n in 1 2 3; do voters+=("$n@127.0.0.1:${cluster_controller_ports[$((n - 1))]}"); done
  local IFS=,
  # The single node's file without what differs per node or per cluster size.
  sed -E -e '/^(node\.id|controller\.quorum\.(bootstrap\.servers|voters)|listeners|advertised\.listeners|log\.dirs)=/d' \
      -e '/^(default\.replication\.factor|min\.insync\.replicas|offsets\.topic\.replication\.factor)=/d' \
      -e '/^(transaction\.state\.log|share\.coordinator\.state\.topic)\.(replication\.factor|min\.isr)=/d' \
      "$here/server.properties" >"$dir/server.properties"
  cat >>"$dir/server.properties" <<PROPS

# node $node of a local three-node cluster (written by kafka.sh)
node.id=$node
controller.quorum.voters=${voters[*]}
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
log.dirs=$dir/data
default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=2
PROPS
}

node_started() { grep -q "Kafka Server started" "$(node_dir "$1")/logs/server.log" 2>/dev/null; }

start_node() {
  local node="$1" i dir port
  i="$(node_index "$node")"
  dir="$(node_dir "$node")"
  port="${cluster_ports[$i]}"
  if answers "$port"; then
    say "node $node already answers on 127.0.0.1:$port"
    return 0
  fi
  if [[ ! -f "$dir/data/meta.properties" ]]; then
    say "node $node has no storage in $dir; run cluster-up"
    exit 1
  fi
  # A restart must not find the previous run's "started" line.
  if [[ -f "$dir/logs/server.log" ]]; then mv "$dir/logs/server.log" "$dir/logs/server.previous.log"; fi
  # shellcheck disable=SC2086
  nohup java $cluster_heap -XX:+UseG1GC \
    -Dlog4j2.configurationFile="$here/log4j2.properties" \
    -Dkafka.logs.dir="$dir/logs" \
    -cp "$libs_dir/*" kafka.Kafka "$dir/server.properties" \
    >"$dir/logs/stdout.log" 2>&1 </dev/null &
  echo $! >"$dir/broker.pid"
  say "node $node starting on 127.0.0.1:$port (data in $dir)"
}

wait_for_nodes() {
  local waited=0 node ready
  while true; do
    ready=0
    for node in "$@"; do
      local dir pid i
      dir="$(node_dir "$node")"
      i="$(node_index "$node")"
      pid="$(cat "$dir/broker.pid" 2>/dev/null || true)"
      if [[ -z "$pid" ]] || ! kill -0 "$pid" 2>/dev/null; then
        say "node $node exited during start-up; last lines of $dir/logs/stdout.log:"
        tail -20 "$dir/logs/stdout.log" >&2 || true
        exit 1
      fi
      if answers "${cluster_ports[$i]}" && node_started "$node"; then ready=$((ready + 1)); fi
    done
    if (( ready == $# )); then break; fi
    if (( waited >= start_timeout * 2 )); then
      say "nodes $* not all started within ${start_timeout}s; see $cluster_dir/node-*/logs/server.log"
      exit 1
    fi
    sleep 0.5
    waited=$((waited + 1))
  done
  say "node(s) $* ready after $((waited / 2))s"
}

cluster_up() {
  cluster_settings
  fetch
  local node
  if [[ ! -f "$cluster_dir/cluster.id" ]]; then
    mkdir -p "$cluster_dir"
    kafka_java kafka.tools.StorageTool random-uuid >"$cluster_dir/cluster.id"
  fi
  local cluster_id
  cluster_id="$(cat "$cluster_dir/cluster.id")"
  local formatting=()
  for node in 1 2 3; do
    local dir
    dir="$(node_dir "$node")"
    mkdir -p "$dir/logs"
    write_node_properties "$node"
    if [[ ! -f "$dir/data/meta.properties" ]]; then
      say "formatting node $node storage in $dir/data (cluster $cluster_id)"
      kafka_java kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server.properties" >"$dir/logs/format.log" &
      formatting+=("$!")
    fi
  done
  for pid in "${formatting[@]}"; do
    wait "$pid" || { say "formatting failed; see $cluster_dir/node-*/logs/format.log"; exit 1; }
  done
  # All three at once: the controllers need a majority before any broker can register.
  for node in 1 2 3; do start_node "$node"; done
  wait_for_nodes 1 2 3
  say "cluster ready: $(cluster_bootstrap)"
}

stop_node() {
  local node="$1" signal="${2:-TERM}" dir pid
  dir="$(node_dir "$node")"
  if [[ ! -f "$dir/broker.pid" ]]; then
    say "node $node is not running (no $dir/broker.pid)"
    return 0
  fi
  pid="$(cat "$dir/broker.pid")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "-$signal" "$pid"
    for _ in $(seq 1 60); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
      say "node $node ($pid) did not stop in 30s; killing it"
      kill -9 "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$dir/broker.pid"
  say "node $node stopped (SIG$signal)"
}

cluster_down() {
  cluster_settings
  local node
  # In parallel: a node stopping alone waits for the others to move its leaderships.
  for node in 1 2 3; do stop_node "$node" & done
  wait
}

cluster_status() {
  cluster_settings
  local node i pid state answering=0
  for node in 1 2 3; do
    i="$(node_index "$node")"
    pid="$(cat "$(node_dir "$node")/broker.pid" 2>/dev/null || true)"
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then state="process $pid"; else state="no process"; fi
    if answers "${cluster_ports[$i]}"; then
      answering=$((answering + 1))
      echo "node $node: 127.0.0.1:${cluster_ports[$i]} answers ($state)"
    else
      echo "node $node: 127.0.0.1:${cluster_ports[$i]} does not answer ($state)"
    fi
  done
  if (( answering > 0 )); then
    kafka_java org.apache.kafka.tools.MetadataQuorumCommand --bootstrap-server "$(cluster_bootstrap)" describe --status 2>/dev/null \
      | grep -E '^(LeaderId|CurrentVoters|CurrentObservers|HighWatermark|MaxFollowerLag)' || true
  fi
  (( answering == 3 ))
}

node_command() {
  cluster_settings
  local node="${2:-}"
  node_index "$node" >/dev/null
  case "$1" in
    node-up) fetch; start_node "$node"; wait_for_nodes "$node" ;;
    node-down) stop_node "$node" TERM ;;
    node-kill) stop_node "$node" KILL ;;
    node-pid) cat "$(node_dir "$node")/broker.pid" ;;
  esac
}

topics_tool() {
  local servers="127.0.0.1:$port"
  if [[ "$1" == cluster ]]; then
    cluster_settings
    servers="$(cluster_bootstrap)"
  fi
  shift
  kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server "$servers" "$@"
}

case "${1:-}" in
  fetch) fetch ;;
  up) up ;;
  down) down ;;
  status) status ;;
  cluster-up) cluster_up ;;
  cluster-down) cluster_down ;;
  cluster-status) cluster_status ;;
  node-up|node-down|node-kill|node-pid) node_command "$1" "${2:-}" ;;
  topics) shift; topics_tool single "$@" ;;
  cluster-topics) shift; topics_tool cluster "$@" ;;
  *) echo "usage: $0 fetch|up|down|status|cluster-up|cluster-down|cluster-status|node-up N|node-down N|node-kill N|node-pid N|topics ARGS|cluster-topics ARGS" >&2; exit 2 ;;
esac
