"""Screen agent: hotline.events.v1 -> validated, normalised, pseudonymised, redacted,
judged events on hotline.screened.v1; appeals that may be linked also go on to the dedupe
stage (re-keyed by place); anything unreadable goes to hotline.deadletter.v1.

Every event of an order takes this one path to the orders stage, so an order's appeal
always reaches it before the order's later lifecycle events, at any replay speed.

The frequent-caller rule needs each caller's recent appeals: they live in a table keyed
by the caller's pseudonym. Appeals arrive keyed by order, so with several workers each
sees the history of the callers of its own partitions (see README, "Scaling out").
"""

from __future__ import annotations

import logging
import time

from hotline.contract import codec, schemas, topics
from hotline.core import dedupe, screen_rules
from hotline.core.screening import Rejected, ScreenSettings, screen
from hotline.stream import metrics
from hotline.stream.app import app, appeals_by_place_topic, events_topic, json_table, screened_topic, settings
from hotline.stream.deadletters import send_dead_letter

STAGE = "screen"
log = logging.getLogger(__name__)

validator = schemas.event_validator(topics.EVENTS.name)
screen_settings = ScreenSettings(
    pseudonym_key=settings.pseudonym_key,
    max_event_bytes=settings.max_event_bytes,
    max_future_seconds=settings.max_future_seconds or None,
)
rules = screen_rules.load_screening_rules()
dedupe_settings = dedupe.load_dedupe_settings()
callers_table = json_table("callers", "Per caller pseudonym: recent appeals, for the frequent-caller rule")


async def _judge_appeal(screened: dict) -> None:
    appeal = rules.appeal_from_screened(screened)
    history = screen_rules.CallerHistory.from_json(callers_table.get(appeal.caller_id)) if appeal.caller_id else None
    judgement = rules.judge(appeal, history)
    if appeal.caller_id:
        callers_table[appeal.caller_id] = judgement.caller_history.to_json()
    verdict = judgement.verdict
    judged = screen_rules.judged_appeal(screened, appeal, verdict)
    await screened_topic.send(key=appeal.order_id.encode(), value=codec.encode(judged))
    metrics.APPEALS_SCREENED.labels(verdict=verdict.status).inc()
    for reason in verdict.reasons:
        metrics.APPEALS_FLAGGED.labels(verdict=verdict.status, reason=reason).inc()
    if dedupe_settings.links(verdict.status):
        await appeals_by_place_topic.send(key=dedupe.place_key(appeal).encode(), value=codec.encode(judged))


@app.agent(events_topic, name="screen")
async def screen_events(stream):
    async for event in stream.events():
        message = event.message
        metrics.MESSAGES_CONSUMED.labels(topic=message.topic).inc()
        try:
            outcome = screen(message.value, validator, screen_settings, now_seconds=time.time())
            if not isinstance(outcome, Rejected):
                if outcome.event["type"] == "appeal.received":
                    await _judge_appeal(outcome.event)
                else:
                    await screened_topic.send(key=outcome.order_id.encode(), value=codec.encode(outcome.event))
        except Exception as error:  # a bug must not stop the worker: dead-letter and go on
            log.exception("screen failed on %s/%s/%s", message.topic, message.partition, message.offset)
            outcome = Rejected("internal_error", f"{type(error).__name__}: {error}")
        if isinstance(outcome, Rejected):
            await send_dead_letter(message, STAGE, outcome)
            continue
        metrics.MESSAGES_PRODUCED.labels(topic=topics.SCREENED.name).inc()
        metrics.MESSAGES_PROCESSED.labels(stage=STAGE).inc()
        metrics.observe_event_time(STAGE, outcome.occurred_at_seconds)
