"""Entry point of a worker: the app with every agent and web view registered."""

from __future__ import annotations

from hotline.stream import idle_ticks, logfilters, metrics, registry, web  # noqa: F401  (registers the tasks, timer and views)
from hotline.stream.agents import callers, dedupe, escalate, orders, pressure, rates, screen  # noqa: F401  (registers the agents)
from hotline.stream.app import app, settings

metrics.initialise()
metrics.describe_worker(settings.time_mode, settings.idle_advance_seconds)
logfilters.limit_kafka_client_repeats()

__all__ = ["app"]
