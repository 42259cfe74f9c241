"""Reliability fixtures: whole pipelines (a throwaway broker and a real `hotline worker`)
that a test can feed raw messages, kill with SIGKILL, restart and rebuild.

Consumes a simulated stream (`hotline simulate`, seeded, generated once per session).
Produces `ReliabilityPipeline`s — one broker at a time: a fixture stops its broker before
the next one starts — and the derived messages of a clean, uninterrupted run of the
simulated stream (`reference_run`), which the poisoned and crash runs are compared with.

These tests take minutes and run only under `make test-reliability` (which sets
HOTLINE_RELIABILITY=1); `make test` does not collect them.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from support.reliability import HOTLINE, DerivedMessages, ReliabilityPipeline, SimulatedStream

HERE = Path(__file__).resolve().parent

STREAM_DAYS = 3
STREAM_SEED = 20260302


def pytest_ignore_collect(collection_path, config):
    if os.environ.get("HOTLINE_RELIABILITY") != "1" and collection_path.parent == HERE:
        return True
    return None


@pytest.fixture(scope="session")
def simulated_stream(tmp_path_factory) -> SimulatedStream:
    directory = tmp_path_factory.mktemp("stream")
    stream = SimulatedStream(directory / "events.jsonl", directory / "offices.jsonl")
    subprocess.run(
        [HOTLINE, "simulate", "--days", str(STREAM_DAYS), "--seed", str(STREAM_SEED), "--out", str(stream.events_path), "--offices", str(stream.offices_path)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return stream


@pytest.fixture(scope="module")
def pipeline_factory(tmp_path_factory):
    """Start pipelines with `pipeline_factory(app_id, **worker_env)`; each is stopped at the end."""
    started: list[ReliabilityPipeline] = []

    def start(app_id: str, **worker_env: str) -> ReliabilityPipeline:
        pipeline = ReliabilityPipeline(tmp_path_factory.mktemp(app_id), app_id, worker_env)
        started.append(pipeline)
        pipeline.start()
        return pipeline

    yield start
    for pipeline in started:
        pipeline.stop()


@pytest.fixture(scope="session")
def reference_run(simulated_stream, tmp_path_factory) -> DerivedMessages:
    """The derived messages of the simulated stream, replayed once into a worker that is
    never interrupted. Its broker is stopped before any other pipeline starts."""
    pipeline = ReliabilityPipeline(tmp_path_factory.mktemp("reference"), "hotline-reference")
    try:
        pipeline.start()
        pipeline.feed(simulated_stream)
        started = time.monotonic()
        pipeline.drain()
        print(f"\nreference run: {len(simulated_stream.lines())} events drained in {time.monotonic() - started:.0f}s")
        return pipeline.derived()
    finally:
        pipeline.stop()
