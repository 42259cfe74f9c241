"""Read-only web views on the worker's port (127.0.0.1:6066 by default).

  /metrics                 Prometheus exposition
  /orders/{order_id}/      one order's derived state (routed to the worker that owns it)
  /offices/{office_id}/    one office's latest pressure snapshot and alerts (routed)
  /offices/?top=N          this worker's offices, highest pressure first (as of each
                           office's newest event time)
  /alerts/                 alerts firing on this worker's offices
  /debug/memory/?top=N     where this worker's Python heap is held: the top allocation
                           sites (a worker started with PYTHONTRACEMALLOC=<frames>)
  /debug/tasks/            what each asyncio task of this worker is waiting on (a stalled
                           stage shows where)
"""

from __future__ import annotations

import asyncio
import tracemalloc

from prometheus_client import REGISTRY, generate_latest

from hotline.core import order_flow
from hotline.core.alerts import AlertBook
from hotline.stream.agents.orders import orders_table, tracker
from hotline.stream.agents.pressure import current_snapshot, office_items, office_stored, office_table
from hotline.stream.app import app

# aiohttp refuses a charset inside content_type, so it is passed as its own argument.
PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4"


@app.page("/metrics")
async def metrics_view(web, request):
    return web.bytes(generate_latest(REGISTRY), content_type=PROMETHEUS_CONTENT_TYPE)


@app.page("/orders/{order_id}/")
@app.table_route(table=orders_table.table, match_info="order_id")
async def order_view(web, request, order_id):
    stored = orders_table.get(order_id)
    if stored is None or order_id.startswith("__"):
        return web.json({"error": f"no order {order_id}"}, status=404)
    return web.json(order_flow.order_view(order_flow.record_of(stored), tracker.policy))


def _office_document(office_id: str, snapshot: dict | None) -> dict:
    stored = office_stored(office_id)
    alerts = AlertBook.from_dict(stored["alerts"]) if stored is not None else None
    return {
        "office_id": office_id,
        "snapshot": snapshot,
        "alerts_firing": sorted(alerts.firing_alerts()) if alerts is not None else [],
    }


@app.page("/offices/{office_id}/")
@app.table_route(table=office_table, match_info="office_id")
async def office_view(web, request, office_id):
    if office_stored(office_id) is None:
        return web.json({"error": f"no pressure recorded for office {office_id}"}, status=404)
    return web.json(_office_document(office_id, current_snapshot(office_id)))


def _pressure(snapshot: dict) -> float:
    return snapshot["pressure_ratio"] if snapshot["pressure_ratio"] is not None else -1.0


@app.page("/offices/")
async def top_offices_view(web, request):
    try:
        top = max(1, min(int(request.query.get("top", "10")), 1000))
    except ValueError:
        return web.json({"error": "top must be an integer"}, status=400)
    snapshots = [current_snapshot(office_id) for office_id, _ in office_items()]
    ranked = sorted((s for s in snapshots if s is not None), key=lambda s: (-_pressure(s), s["office_id"]))[:top]
    return web.json({"offices": [_office_document(s["office_id"], s) for s in ranked]})


@app.page("/alerts/")
async def alerts_view(web, request):
    firing = []
    for office_id, stored in sorted(office_items()):
        for alert in sorted(AlertBook.from_dict(stored["alerts"]).firing_alerts()):
            firing.append({"alert": alert, "office_id": office_id})
    return web.json({"firing": firing})


@app.page("/debug/memory/")
async def memory_view(web, request):
    if not tracemalloc.is_tracing():
        return web.json({"error": "start the worker with PYTHONTRACEMALLOC=<frames> to trace its allocations"}, status=404)
    try:
        top = max(1, min(int(request.query.get("top", "25")), 1000))
    except ValueError:
        return web.json({"error": "top must be an integer"}, status=400)
    traced_bytes, peak_bytes = tracemalloc.get_traced_memory()
    statistics = tracemalloc.take_snapshot().statistics("traceback")[:top]
    return web.json(
        {
            "traced_bytes": traced_bytes,
            "peak_traced_bytes": peak_bytes,
            "top": [{"bytes": stat.size, "blocks": stat.count, "traceback": stat.traceback.format()} for stat in statistics],
        }
    )


def _awaiting(awaitable: object) -> list[str]:
    """The chain of coroutines (and async generators) a task is suspended in, outermost first."""
    chain: list[str] = []
    while awaitable is not None and len(chain) < 40:
        frame = getattr(awaitable, "cr_frame", None) or getattr(awaitable, "ag_frame", None) or getattr(awaitable, "gi_frame", None)
        if frame is not None:
            chain.append(f"{frame.f_code.co_filename}:{frame.f_lineno} {frame.f_code.co_name}")
        awaitable = getattr(awaitable, "cr_await", None) or getattr(awaitable, "ag_await", None) or getattr(awaitable, "gi_yieldfrom", None)
    return chain


@app.page("/debug/tasks/")
async def tasks_view(web, request):
    tasks = [{"name": task.get_name(), "awaiting": _awaiting(task.get_coro())} for task in asyncio.all_tasks()]
    tasks.sort(key=lambda task: task["name"])
    return web.json({"tasks": tasks})
