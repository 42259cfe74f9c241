"""Entry point of a worker: the app with every agent and web view registered."""

from __future__ import annotations

from hotline.stream import metrics, web  # noqa: F401  (registers the views)
from hotline.stream.agents import screen  # noqa: F401  (registers the agent)
from hotline.stream.app import app

metrics.initialise()

__all__ = ["app"]
