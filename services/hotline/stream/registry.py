"""The worker's office registry and the task that keeps it current."""

from __future__ import annotations

from hotline.stream.app import app, settings
from hotline.stream.offices import OfficeRegistry

registry = OfficeRegistry()


@app.task
async def follow_office_registry() -> None:
    await registry.follow_forever(settings.aiokafka_options())
