"""Entry point of a worker: the app with every agent and web view registered."""

from __future__ import annotations

from hotline.stream import logfilters, metrics, registry, web  # noqa: F401  (registers the task and views)
from hotline.stream.agents import callers, dedupe, escalate, orders, pressure, screen  # noqa: F401  (registers the agents)
from hotline.stream.app import app

metrics.initialise()
logfilters.limit_kafka_client_repeats()

__all__ = ["app"]
