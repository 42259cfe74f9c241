"""Whole pipelines for the reliability tests: a throwaway broker and one real `hotline
worker` at a time on it, which a test can feed raw messages, kill with SIGKILL, restart
with the same app id and data dir, or replace with one whose data dir is empty; the
broker itself can be halted and resumed under the running worker, and peer workers can
join the worker's group.

Consumes a simulated stream (JSON lines and an office registry, from `hotline simulate`).
Produces the derived messages of a run (`DerivedMessages`: per topic, event ids and the
exact bytes of every message, redeliveries included).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import orjson
from kafka import KafkaProducer

from hotline.cli.draining import consumed_topics
from hotline.contract import topics
from support.broker import ThrowawayBroker
from support.kafka import group_lag, read_all, wait_until_drained
from support.worker import WorkerProcess

HOTLINE = str(Path(sys.executable).with_name("hotline"))
# Topics whose messages the stages derive from the input, compared between runs.
DERIVED = (topics.SCREENED, topics.CASES, topics.DEADLINES, topics.ESCALATIONS, topics.PRESSURE, topics.ALERTS)


@dataclass(frozen=True)
class SimulatedStream:
    events_path: Path
    offices_path: Path

    def lines(self) -> list[bytes]:
        return [line for line in self.events_path.read_bytes().splitlines() if line]

    def events(self) -> list[dict]:
        return [orjson.loads(line) for line in self.lines()]

    def order_ids(self) -> list[str]:
        return sorted({event["order_id"] for event in self.events()})


@dataclass(frozen=True)
class DerivedMessages:
    """Every message of the derived topics after a run: per topic, (event_id, raw value) in log order."""

    by_topic: dict[str, list[tuple[str, bytes]]]

    def event_ids(self, topic: str) -> set[str]:
        return {event_id for event_id, _ in self.by_topic[topic]}

    def values(self, topic: str) -> list[dict]:
        return [orjson.loads(raw) for _, raw in self.by_topic[topic]]

    def copies(self, topic: str) -> dict[str, list[bytes]]:
        """Per event_id, every message that carried it (more than one: a redelivery)."""
        grouped: dict[str, list[bytes]] = defaultdict(list)
        for event_id, raw in self.by_topic[topic]:
            grouped[event_id].append(raw)
        return grouped


class ReliabilityPipeline:
    """A broker of its own and one `hotline worker` at a time on it, which a test may
    kill (SIGKILL), restart with the same app id and data dir, or replace with an empty
    data dir."""

    def __init__(self, directory: Path, app_id: str, worker_env: dict[str, str] | None = None):
        self.directory = directory
        self.app_id = app_id
        self.data_dir = directory / "data"
        self.worker_env = worker_env or {}
        self.broker = ThrowawayBroker()
        self.worker: WorkerProcess | None = None
        self.incarnations = 0
        self.peers: list[WorkerProcess] = []
        self.clock_end: Path | None = None

    @property
    def servers(self) -> str:
        return self.broker.bootstrap

    def start(self) -> None:
        partitions = self.worker_env.get("HOTLINE_PARTITIONS")
        self.broker.start(self.app_id, int(partitions) if partitions else None)
        self.start_worker()

    def start_worker(self) -> WorkerProcess:
        """The worker, or a restart of it; a static group member (HOTLINE_GROUP_INSTANCE_ID)
        comes back at the same web address, as it would in a deployment (Faust checks it)."""
        self.incarnations += 1
        static = "HOTLINE_GROUP_INSTANCE_ID" in self.worker_env
        self.worker = WorkerProcess(
            self.directory / f"worker-{self.incarnations}.log",
            self.data_dir,
            app_id=self.app_id,
            extra_env={"HOTLINE_BROKER": self.servers, **self.worker_env},
            web_port=self.worker.web_port if static and self.worker is not None else None,
        )
        self.worker.wait_ready()
        return self.worker

    def start_peer(self) -> WorkerProcess:
        """Another worker in the same group (same app id), with a web port and data dir of its own."""
        peer = WorkerProcess(
            self.directory / f"peer-{len(self.peers) + 1}.log",
            self.directory / f"peer-data-{len(self.peers) + 1}",
            app_id=self.app_id,
            extra_env={"HOTLINE_BROKER": self.servers, **self.worker_env},
        )
        self.peers.append(peer)
        peer.wait_ready()
        self.wait_for_stable_group(members=1 + len(self.peers))
        return peer

    def wait_for_stable_group(self, members: int, timeout_seconds: float = 120.0) -> None:
        """Until the group has settled with `members` members. A worker is "ready" before
        the rebalance its joining causes has ended; the two-worker test feeds the stream
        once the group is stable, so what it checks is the takeover. (Feeding during the
        join once lost a record: the joining worker dropped what it fetched while seeking
        when Faust resumed its flow, fixed in hotline.stream.restart_position.)"""
        from kafka import KafkaAdminClient

        admin = KafkaAdminClient(bootstrap_servers=self.servers)
        deadline = time.monotonic() + timeout_seconds
        try:
            while True:
                group = admin.describe_groups([self.app_id]).get(self.app_id, {})
                if group.get("group_state") == "Stable" and len(group.get("members") or ()) == members:
                    return
                assert time.monotonic() < deadline, f"group {self.app_id} not stable with {members} members: {group}"
                time.sleep(0.5)
        finally:
            admin.close()

    def restart_broker(self, down_seconds: float) -> float:
        """Halt the broker, leave it down `down_seconds`, start it again on the same ports and
        data; the time.monotonic() at which it answers again."""
        self.broker.halt()
        time.sleep(down_seconds)
        self.broker.resume()
        return time.monotonic()

    def wait_for_input_progress(self, total: int, fraction: float, timeout_seconds: float = 600.0) -> None:
        """Until the group has committed `fraction` of the `total` messages of the input topic."""
        deadline = time.monotonic() + timeout_seconds
        while self.input_lag() > total * (1 - fraction):
            assert time.monotonic() < deadline, f"input never reached {fraction:.0%}"
            assert self.worker.process.poll() is None, self.worker.log_text()[-3000:]
            time.sleep(0.2)

    def kill_worker(self) -> None:
        """SIGKILL: no shutdown hook runs, nothing is flushed or committed."""
        self.worker.process.send_signal(signal.SIGKILL)
        self.worker.process.wait(timeout=30)
        self.worker.stop()

    def stop(self) -> None:
        for peer in self.peers:
            peer.stop()
        if self.worker is not None:
            self.worker.stop()
        self.broker.stop()

    def hotline(self, *args: str) -> subprocess.CompletedProcess:
        env = {**self.broker.env, "HOTLINE_APP_ID": self.app_id}
        return subprocess.run([HOTLINE, *args], env=env, capture_output=True, timeout=3600, check=True)

    def feed(self, stream: SimulatedStream) -> None:
        self.hotline("offices", "load", str(stream.offices_path))
        self.hotline("replay", "--quiet", str(stream.events_path))
        self.ends_with(stream)

    def ends_with(self, stream: SimulatedStream) -> None:
        """`drain` ends the replay as a replay of history ends: event time moves one second
        past the stream's last event (`hotline clock advance`), releasing what stages hold."""
        self.clock_end = stream.events_path

    def produce(self, messages: list[tuple[bytes | None, bytes | None]]) -> list[tuple[int, int]]:
        """Send raw messages in order, as `hotline replay` would; their (partition, offset)s."""
        producer = KafkaProducer(bootstrap_servers=self.servers, acks="all", linger_ms=5, max_request_size=4 * 1024 * 1024)
        try:
            futures = [producer.send(topics.EVENTS.name, key=key, value=value) for key, value in messages]
            producer.flush(timeout=120)
            return [(metadata.partition, metadata.offset) for metadata in (future.get(timeout=60) for future in futures)]
        finally:
            producer.close()

    def consumed_topics(self) -> list[str]:
        return consumed_topics(self.app_id)

    def drain(self, timeout_seconds: float = 900.0) -> None:
        wait_until_drained(self.app_id, self.consumed_topics(), self.servers, timeout_seconds)
        if self.clock_end is not None:
            self.hotline("clock", "advance", "--to-end-of", str(self.clock_end), "--timeout", str(timeout_seconds))
            wait_until_drained(self.app_id, self.consumed_topics(), self.servers, timeout_seconds)

    def input_lag(self) -> int:
        return group_lag(self.app_id, [topics.EVENTS.name], self.servers)

    def consumed_since_start(self) -> float:
        """Messages the current worker process has consumed, on any topic (0 when its web port is not up yet)."""
        try:
            samples = self.worker.metrics()
        except (urllib.error.URLError, ConnectionError, OSError):
            return 0.0
        return sum(value for (name, _), value in samples.items() if name == "hotline_messages_consumed_total")

    def derived(self) -> DerivedMessages:
        by_topic = {}
        for spec in DERIVED + (topics.DEADLETTER,):
            records = read_all(spec.name, idle_timeout_ms=3000, servers=self.servers)
            by_topic[spec.name] = [(orjson.loads(record.value)["event_id"], record.value) for record in records]
        return DerivedMessages(by_topic)


def assert_same_event_ids(derived: DerivedMessages, reference: DerivedMessages, topic: str) -> None:
    """The distinct event ids a run derived on `topic` are the reference run's."""
    run_ids = derived.event_ids(topic)
    clean_ids = reference.event_ids(topic)
    assert clean_ids, topic
    extra, missing = sorted(run_ids - clean_ids), sorted(clean_ids - run_ids)
    assert (extra, missing) == ([], []), (
        f"{topic}: {len(extra)} ids the uninterrupted run lacks, e.g. {_first_message(derived, topic, extra)}; "
        f"{len(missing)} missing, e.g. {_first_message(reference, topic, missing)}"
    )


def _first_message(derived: DerivedMessages, topic: str, event_ids: list[str]) -> str:
    if not event_ids:
        return "none"
    raw = next(raw for event_id, raw in derived.by_topic[topic] if event_id == event_ids[0])
    return raw.decode(errors="replace")[:600]


def json_view(worker: WorkerProcess, path: str) -> dict | None:
    """A JSON view of the worker's web server; {"status": code} for an HTTP error, None when it does not answer."""
    try:
        with urllib.request.urlopen(worker.url + path, timeout=10) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        return {"status": error.code}
    except (urllib.error.URLError, ConnectionError):
        return None


def metric(samples: dict, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include `labels`."""
    return sum(v for (n, l), v in samples.items() if n == name and all(dict(l).get(k) == x for k, x in labels.items()))




ALL_OFFICES = "/offices/?top=1000"


@dataclass(frozen=True)
class Views:
    """A worker's derived state as its JSON views serve it: every order's `/orders/{id}/`
    (folded state, deadline clocks, escalations, repeat count) and every office's document."""

    orders: dict[str, dict | None]
    offices: dict[str, dict]

    @classmethod
    def of(cls, worker: WorkerProcess, order_ids: list[str]) -> "Views":
        offices = json_view(worker, ALL_OFFICES)
        return cls(
            orders={order_id: json_view(worker, f"/orders/{order_id}/") for order_id in order_ids},
            offices={document["office_id"]: document for document in offices["offices"]},
        )

    def order_parts(self, *parts: str) -> dict[str, dict]:
        return {order_id: {part: view.get(part) for part in parts} if view else view for order_id, view in self.orders.items()}

    def order_fields(self, *fields: str, leaving_out: bool = False) -> dict[str, dict]:
        """Per order, these fields of its folded state (or all but these, `leaving_out`)."""
        return {
            order_id: {key: value for key, value in view["order"].items() if (key in fields) != leaving_out} if view and view.get("order") else view
            for order_id, view in self.orders.items()
        }

    def order_states(self) -> dict[str, dict]:
        """Per order, its whole folded state."""
        return self.order_fields(leaving_out=True)

    def office_fields(self, *fields: str) -> dict[str, dict]:
        return {office_id: {field: document["snapshot"][field] for field in fields} for office_id, document in self.offices.items()}


def differences(after: dict, before: dict) -> dict:
    """Per key of `before` whose value differs in `after`: (after, before)."""
    return {key: (after.get(key), value) for key, value in before.items() if after.get(key) != value}


def differing_fields(after: dict, before: dict) -> dict[str, list[str]]:
    """Per order whose view differs, the names of the fields that differ."""
    return {
        order_id: sorted(key for key in set(view or {}) | set(after.get(order_id) or {}) if (view or {}).get(key) != (after.get(order_id) or {}).get(key))
        for order_id, view in before.items()
        if after.get(order_id) != view
    }
