"""Reliability fixtures: whole pipelines (a throwaway broker and a real `hotline worker`)
that a test can feed raw messages, kill with SIGKILL, restart and rebuild.

Consumes a simulated stream (`hotline simulate`, seeded, generated once per session).
Produces `ReliabilityPipeline`s — one broker at a time: a fixture stops its broker before
the next one starts — and the derived messages of a clean, uninterrupted run of the
simulated stream (`reference_run`), which the poisoned and crash runs are compared with.

These tests take minutes and run only under `make test-reliability` (which sets
HOTLINE_RELIABILITY=1 and which `make test` runs after `make test-fast`); a plain pytest
run does not collect them.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.reliability import HOTLINE, DerivedMessages, ReliabilityPipeline, SimulatedStream, Views

HERE = Path(__file__).resolve().parent

STREAM_DAYS = 3
STREAM_SEED = 20260302
# The crash scenario replays at least 50 000 events (a size that fills every window): 11 simulated days
# of the steady city make 62 263.
CRASH_STREAM_DAYS = 11
CRASH_STREAM_MIN_EVENTS = 50_000


def pytest_ignore_collect(collection_path, config):
    if os.environ.get("HOTLINE_RELIABILITY") != "1" and collection_path.parent == HERE:
        return True
    return None


def _simulate(directory: Path, days: int) -> SimulatedStream:
    stream = SimulatedStream(directory / "events.jsonl", directory / "offices.jsonl")
    subprocess.run(
        [HOTLINE, "simulate", "--days", str(days), "--seed", str(STREAM_SEED), "--out", str(stream.events_path), "--offices", str(stream.offices_path)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return stream


@pytest.fixture(scope="session")
def simulated_stream(tmp_path_factory) -> SimulatedStream:
    return _simulate(tmp_path_factory.mktemp("stream"), STREAM_DAYS)


@pytest.fixture(scope="session")
def crash_stream(tmp_path_factory) -> SimulatedStream:
    stream = _simulate(tmp_path_factory.mktemp("crash-stream"), CRASH_STREAM_DAYS)
    assert len(stream.lines()) >= CRASH_STREAM_MIN_EVENTS
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


@dataclass(frozen=True)
class ViewedRun:
    """A run's derived messages and the worker's views of its state at the end."""

    derived: DerivedMessages
    views: Views


def _uninterrupted_run(stream: SimulatedStream, directory: Path, app_id: str, with_views: bool = False) -> ViewedRun:
    pipeline = ReliabilityPipeline(directory, app_id)
    try:
        pipeline.start()
        pipeline.feed(stream)
        started = time.monotonic()
        pipeline.drain()
        print(f"\n{app_id}: {len(stream.lines())} events drained in {time.monotonic() - started:.0f}s")
        views = Views.of(pipeline.worker, stream.order_ids()) if with_views else Views({}, {})
        return ViewedRun(pipeline.derived(), views)
    finally:
        pipeline.stop()


@pytest.fixture(scope="session")
def reference_run(simulated_stream, tmp_path_factory) -> DerivedMessages:
    """The derived messages of the simulated stream, replayed once into a worker that is
    never interrupted. Its broker is stopped before any other pipeline starts."""
    return _uninterrupted_run(simulated_stream, tmp_path_factory.mktemp("reference"), "hotline-reference").derived


@pytest.fixture(scope="session")
def crash_reference_run(crash_stream, tmp_path_factory) -> ViewedRun:
    """As `reference_run`, for the crash scenario's longer stream, with the worker's views."""
    return _uninterrupted_run(crash_stream, tmp_path_factory.mktemp("crash-reference"), "hotline-crash-reference", with_views=True)


@pytest.fixture(scope="session")
def viewed_reference_run(simulated_stream, tmp_path_factory) -> ViewedRun:
    """As `reference_run`, with the worker's views of every order and office at the end."""
    return _uninterrupted_run(simulated_stream, tmp_path_factory.mktemp("viewed-reference"), "hotline-viewed-reference", with_views=True)

