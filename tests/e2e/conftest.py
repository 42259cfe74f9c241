"""Every test here talks to the real local broker and a real `hotline worker` process."""

from __future__ import annotations

import pytest

from support.worker import WorkerProcess


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
