"""Callers agent: appeals keyed by caller -> a verdict with reasons -> hotline.screened.v1,
and the appeals that may be linked on to the dedupe stage (re-keyed by place).

The caller's recent history (a frequent caller with many unrelated issues) lives in a
table keyed by the caller's pseudonym; appeals without a caller are judged on content.
"""

from __future__ import annotations

import logging

from hotline.contract import codec, topics
from hotline.core import dedupe, screen_rules
from hotline.core.screening import Rejected
from hotline.stream import metrics
from hotline.stream.app import app, appeals_by_caller_topic, appeals_by_place_topic, json_table, screened_topic
from hotline.stream.deadletters import send_dead_letter

STAGE = "callers"
log = logging.getLogger(__name__)

rules = screen_rules.load_screening_rules()
dedupe_settings = dedupe.load_dedupe_settings()
callers_table = json_table("callers", "Per caller pseudonym: recent appeals, for the frequent-caller rule")


@app.agent(appeals_by_caller_topic, name="callers")
async def judge_appeals(stream):
    async for event in stream.events():
        message = event.message
        metrics.MESSAGES_CONSUMED.labels(topic=message.topic).inc()
        try:
            screened = codec.decode(message.value)
            appeal = rules.appeal_from_screened(screened)
            history = None
            if appeal.caller_id:
                history = screen_rules.CallerHistory.from_json(callers_table.get(appeal.caller_id))
            judgement = rules.judge(appeal, history)
        except Exception as error:  # a bug must not stop the worker: dead-letter and go on
            log.exception("callers stage failed on %s/%s/%s", message.topic, message.partition, message.offset)
            await send_dead_letter(message, STAGE, Rejected("internal_error", f"{type(error).__name__}: {error}"))
            continue
        if appeal.caller_id:
            callers_table[appeal.caller_id] = judgement.caller_history.to_json()
        verdict = judgement.verdict
        judged = screen_rules.judged_appeal(screened, appeal, verdict)
        await screened_topic.send(key=appeal.order_id.encode(), value=codec.encode(judged))
        metrics.MESSAGES_PRODUCED.labels(topic=topics.SCREENED.name).inc()
        metrics.APPEALS_SCREENED.labels(verdict=verdict.status).inc()
        for reason in verdict.reasons:
            metrics.APPEALS_FLAGGED.labels(verdict=verdict.status, reason=reason).inc()
        if dedupe_settings.links(verdict.status):
            await appeals_by_place_topic.send(key=dedupe.place_key(appeal).encode(), value=codec.encode(judged))
        metrics.MESSAGES_PROCESSED.labels(stage=STAGE).inc()
