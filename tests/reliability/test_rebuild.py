"""Rebuild: tables are folds over the log (changelog topics), so a new worker with the
same app id and an empty data dir serves the same JSON views — orders and offices — as
the worker it replaces.

Runs on the bundled sample (3 604 events, 89 offices) in a broker of its own.
"""

from __future__ import annotations

import json
import random
import shutil
import time
from pathlib import Path

import pytest

from support.reliability import json_view, SimulatedStream

# Whole runs: the module's fixture replays thousands of events through a real worker.
pytestmark = pytest.mark.timeout(1800)

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = SimulatedStream(ROOT / "data" / "samples" / "demo-events.jsonl", ROOT / "data" / "offices" / "demo-offices.jsonl")
SEED = 20260709
ORDERS_SAMPLED = 60


def _views(worker, paths: list[str]) -> dict[str, dict | None]:
    return {path: json_view(worker, path) for path in paths}


@pytest.fixture(scope="module")
def rebuilt(pipeline_factory):
    rng = random.Random(SEED)
    orders = sorted({event["order_id"] for event in SAMPLE.events()})
    offices = sorted(json.loads(line)["office_id"] for line in SAMPLE.offices_path.read_text().splitlines() if line)
    paths = [f"/orders/{order_id}/" for order_id in rng.sample(orders, ORDERS_SAMPLED)] + [f"/offices/{office_id}/" for office_id in offices]

    pipeline = pipeline_factory("hotline-rebuild")
    pipeline.feed(SAMPLE)
    pipeline.drain()
    before = _views(pipeline.worker, paths)

    # when the worker stops, its data dir is deleted and a new one starts with the same app id
    pipeline.worker.stop()
    shutil.rmtree(pipeline.data_dir)
    started = time.monotonic()
    pipeline.start_worker()
    after = _views(pipeline.worker, paths)
    while after != before and time.monotonic() - started < 120:
        time.sleep(1.0)
        after = _views(pipeline.worker, paths)
    print(f"\nrebuild: {len(paths)} views equal after {time.monotonic() - started:.1f}s" if after == before else "\nrebuild: views differ after 120s")
    return before, after


def test_views_before_are_real_orders_and_offices(rebuilt):
    before, _ = rebuilt
    orders = [view for path, view in before.items() if path.startswith("/orders/")]
    offices = [view for path, view in before.items() if path.startswith("/offices/")]
    assert len(orders) == ORDERS_SAMPLED and all("order" in view for view in orders)
    # offices that received no order have no pressure yet (404); most of the 89 have one
    assert len([view for view in offices if "snapshot" in view]) >= len(offices) // 2


def test_a_worker_with_an_empty_data_dir_serves_the_same_views(rebuilt):
    before, after = rebuilt
    assert {path: view for path, view in after.items() if view != before[path]} == {}
