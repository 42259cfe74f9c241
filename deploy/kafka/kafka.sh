#!/usr/bin/env bash
# Local Apache Kafka (KRaft, single node) without Docker.
#
#   kafka.sh fetch     copy the broker jars from Maven Central into the cache (once)
#   kafka.sh up        format storage if new, start the broker, wait until it answers
#   kafka.sh down      stop the broker started by `up` with the same port
#   kafka.sh status    say whether a broker answers on the port
#
# Environment: KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (KAFKA_PORT+1),
# KAFKA_DATA_DIR (~/.cache/hotline/broker-$KAFKA_PORT), HOTLINE_CACHE_DIR (~/.cache/hotline),
# KAFKA_HEAP_OPTS (-Xms256m -Xmx1g), KAFKA_START_TIMEOUT_SECONDS (90).
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
    -Dkafka.logs.dir="$data_dir/logs" \
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

case "${1:-}" in
  fetch) fetch ;;
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 fetch|up|down|status" >&2; exit 2 ;;
esac
