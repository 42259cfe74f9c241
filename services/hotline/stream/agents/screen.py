"""Screen agent: hotline.events.v1 -> validated, normalised, pseudonymised, redacted.

Lifecycle events go straight to hotline.screened.v1. Appeals go on to the callers stage
(re-keyed by caller), which gives them their verdict; anything unreadable goes to
hotline.deadletter.v1 with its reason.
"""

from __future__ import annotations

import logging

from hotline.contract import codec, schemas, topics
from hotline.core.screening import Rejected, ScreenSettings, screen
from hotline.stream import metrics
from hotline.stream.app import app, appeals_by_caller_topic, events_topic, screened_topic, settings
from hotline.stream.deadletters import send_dead_letter

STAGE = "screen"
log = logging.getLogger(__name__)

validator = schemas.event_validator(topics.EVENTS.name)
screen_settings = ScreenSettings(pseudonym_key=settings.pseudonym_key, max_event_bytes=settings.max_event_bytes)


@app.agent(events_topic, name="screen")
async def screen_events(stream):
    async for event in stream.events():
        message = event.message
        metrics.MESSAGES_CONSUMED.labels(topic=message.topic).inc()
        try:
            outcome = screen(message.value, validator, screen_settings)
        except Exception as error:  # a bug must not stop the worker: dead-letter and go on
            log.exception("screen failed on %s/%s/%s", message.topic, message.partition, message.offset)
            outcome = Rejected("internal_error", f"{type(error).__name__}: {error}")
        if isinstance(outcome, Rejected):
            await send_dead_letter(message, STAGE, outcome)
            continue
        if outcome.event["type"] == "appeal.received":
            # The caller's history decides the verdict: all appeals of a caller meet
            # in one partition of the callers stage.
            caller_key = outcome.event["data"].get("caller_id") or outcome.order_id
            await appeals_by_caller_topic.send(key=caller_key.encode(), value=codec.encode(outcome.event))
        else:
            await screened_topic.send(key=outcome.order_id.encode(), value=codec.encode(outcome.event))
            metrics.MESSAGES_PRODUCED.labels(topic=topics.SCREENED.name).inc()
        metrics.MESSAGES_PROCESSED.labels(stage=STAGE).inc()
        metrics.observe_event_time(STAGE, outcome.occurred_at_seconds)
