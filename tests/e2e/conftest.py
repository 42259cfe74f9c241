"""End-to-end fixtures: a real `hotline worker` against a real Kafka broker.

`worker` (module scope) shares the session broker that `make test` starts. Modules that
replay data with their own event times use `isolated_pipeline`, which starts a broker
of their own so watermarks of different data sets never mix.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hotline.cli.draining import consumed_topics
from hotline.contract import topics
from support.broker import ThrowawayBroker
from support.kafka import wait_until_drained
from support.worker import WorkerProcess

HOTLINE = str(Path(sys.executable).with_name("hotline"))


@pytest.fixture(autouse=True)
def _needs_broker(kafka_broker):
    return kafka_broker


@pytest.fixture(scope="module")
def worker(kafka_broker, tmp_path_factory):
    directory = tmp_path_factory.mktemp("worker")
    process = WorkerProcess(directory / "worker.log", directory / "data")
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


class Pipeline:
    """A broker of its own, a worker on it, and helpers to feed and drain them."""

    def __init__(self, broker: ThrowawayBroker, worker: WorkerProcess, app_id: str):
        self.broker = broker
        self.worker = worker
        self.app_id = app_id

    @property
    def servers(self) -> str:
        return self.broker.bootstrap

    def hotline(self, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
        env = {**self.broker.env, "HOTLINE_APP_ID": self.app_id}
        return subprocess.run([HOTLINE, *args], env=env, input=stdin, capture_output=True, timeout=600, check=True)

    def drain(self, timeout_seconds: float = 900.0) -> None:
        wait_until_drained(self.app_id, consumed_topics(self.app_id), self.servers, timeout_seconds)

    def finish_replay(self, events: Path | bytes) -> None:
        """Drain, move event time one second past the last replayed event (as a replay of
        history ends, `hotline clock advance`), and drain what that releases."""
        if isinstance(events, bytes):
            path = self.worker.log_path.with_name("replayed-events.jsonl")
            path.write_bytes(events)
            events = path
        self.hotline("clock", "advance", "--to-end-of", str(events))
        self.drain()


@pytest.fixture(scope="module")
def worker_env() -> dict[str, str]:
    """Extra environment of the isolated worker; a module overrides it (e.g. its config)."""
    return {}


@pytest.fixture(scope="module")
def isolated_pipeline(kafka_broker, tmp_path_factory, worker_env):
    app_id = "hotline-e2e"
    broker = ThrowawayBroker()
    broker.start(app_id)
    directory = tmp_path_factory.mktemp("pipeline")
    process = WorkerProcess(
        directory / "worker.log", directory / "data", app_id=app_id, extra_env={"HOTLINE_BROKER": broker.bootstrap, **worker_env}
    )
    try:
        process.wait_ready()
        yield Pipeline(broker, process, app_id)
    finally:
        process.stop()
        broker.stop()
