"""Read-only web views on the worker's port: /metrics for Prometheus."""

from __future__ import annotations

from prometheus_client import REGISTRY, generate_latest

from hotline.stream.app import app

# aiohttp refuses a charset inside content_type, so it is passed as its own argument.
PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4"


@app.page("/metrics")
async def metrics_view(web, request):
    return web.bytes(generate_latest(REGISTRY), content_type=PROMETHEUS_CONTENT_TYPE)
