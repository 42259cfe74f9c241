"""Callers agent: appeals keyed by caller -> the final verdict (the frequent-caller rule
added to the screen stage's), passed with the appeal to the dedupe stage (re-keyed by
place) and on with its case link to the orders stage.

The frequent-caller rule needs a caller's recent appeals, which arrive from every screen
partition at once: each partition holds them in an ordered merge (hotline.stream.clocks)
until every screen partition's clock has passed them and judges them in event-time
order, so the verdicts are the same at any replay speed and with any number of workers.
It then promises the dedupe stage its merge frontier: what it sends later is stamped no
earlier (it passes each appeal on with the stamp the screen stage gave it).

A caller's history, the merge's clocks and its held appeals share one table, so what one
message changes reaches one changelog partition in the order written. An appeal is
passed on before the history that records it is stored; released again after a crash,
it gets the verdict its history entry recorded the first time.

Whether an appeal's order waits for a case link was decided by the orders stage from the
screen stage's verdict, so that verdict, not the final one, decides whether the appeal
goes on to the dedupe stage (the frequent-caller rule only ever flags). A caller whose
newest appeal has left the window on the partition's merge frontier can no longer change
a verdict and leaves the table, so it holds the window's callers, not every caller ever
heard.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timezone

from hotline.contract import codec
from hotline.core import dedupe, screen_rules
from hotline.core.deadlines import DueIndex
from hotline.core.screening import Rejected
from hotline.stream import bootstrap, clocks, metrics
from hotline.stream.app import CompactJsonTable, app, appeals_by_caller_topic, appeals_by_place_topic
from hotline.stream.deadletters import send_dead_letter

STAGE = "callers"
log = logging.getLogger(__name__)

rules = bootstrap.rules().screening
dedupe_settings = bootstrap.rules().dedupe
state_table = CompactJsonTable(
    "callers",
    "caller|<pseudonym>: a caller's recent appeals, for the frequent-caller rule; merge|...: appeals held for event-time order, and the screen clocks",
)
merges = clocks.MergeTables(STAGE, ("screen",), state_table)
promises = clocks.register(clocks.ClockPromises(STAGE, appeals_by_place_topic))


def caller_key(caller_id: str) -> str:
    return f"caller|{caller_id}"


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


class QuietCallers:
    """Per partition: callers by when their newest appeal leaves the frequent-caller window."""

    def __init__(self) -> None:
        self.due: dict[int, DueIndex] = defaultdict(DueIndex)
        self.stale = True

    def rebuild(self) -> None:
        self.due.clear()
        for key, value in state_table.items():
            if key.startswith("caller|"):
                self.schedule(value["partition"], key, screen_rules.CallerHistory.from_json(value["history"]))
        self.stale = False

    def schedule(self, partition: int, key: str, history: screen_rules.CallerHistory) -> None:
        if history.appeals:
            newest_seconds = max(appeal.occurred_at_seconds for appeal in history.appeals)
            self.due[partition].schedule(key, _utc(newest_seconds + rules.frequent_caller.window_seconds))

    def forget(self, partition: int, frontier_seconds: float | None) -> None:
        """Drop the partition's callers that are quiet on its merge frontier: an appeal
        still to come is stamped at or after it."""
        if frontier_seconds is None:
            return
        for key in self.due[partition].pop_due(_utc(frontier_seconds)):
            state_table.pop(key)
            metrics.CALLERS_FORGOTTEN.inc()


quiet_callers = QuietCallers()


async def _judge(partition: int, item) -> None:
    screened = item.payload
    appeal = rules.appeal_from_screened(screened)
    content_verdict = screen_rules.Verdict(screened["verdict"]["status"], tuple(screened["verdict"]["reasons"]))
    stored = state_table.get(caller_key(appeal.caller_id)) if appeal.caller_id else None
    history = screen_rules.CallerHistory.from_json(stored["history"]) if stored else None
    judgement = rules.judge_caller(appeal, content_verdict, history)
    verdict = judgement.verdict
    if dedupe_settings.links(content_verdict.status):
        judged = screen_rules.apply_verdict(screened, verdict)
        forwarded = clocks.merge_item(item.at_seconds, item.key, judged)
        await appeals_by_place_topic.send(key=dedupe.place_key(appeal).encode(), value=forwarded)
    if judgement.caller_history is not None and judgement.caller_history != history:
        state_table[caller_key(appeal.caller_id)] = {"history": judgement.caller_history.to_json(), "partition": partition}
        quiet_callers.schedule(partition, caller_key(appeal.caller_id), judgement.caller_history)
    metrics.APPEALS_SCREENED.labels(verdict=verdict.status).inc()
    for reason in verdict.reasons:
        metrics.APPEALS_FLAGGED.labels(verdict=verdict.status, reason=reason).inc()
    metrics.observe_event_time(STAGE, appeal.occurred_at_seconds)


@app.agent(appeals_by_caller_topic, name="callers")
async def judge_callers(stream):
    async for event in stream.events():
        message = event.message
        metrics.MESSAGES_CONSUMED.labels(topic=message.topic).inc()
        if quiet_callers.stale:
            quiet_callers.rebuild()
        try:
            released = merges.accept(message.partition, codec.decode(message.value))
        except (ValueError, TypeError, KeyError) as error:
            await send_dead_letter(message, STAGE, Rejected("invalid_value", f"not an appeal for the callers stage: {error}"))
            continue
        for item in released:
            try:
                await _judge(message.partition, item)
            except Exception as error:  # a bug must not stop the worker: dead-letter and go on
                log.exception("callers stage failed on an appeal released by %s/%s/%s", message.topic, message.partition, message.offset)
                rejected = Rejected("internal_error", f"{type(error).__name__}: {error}", item.payload.get("caused_by"))
                await send_dead_letter(message, STAGE, rejected, original=codec.encode(item.payload))
        merges.handled(message.partition, released)
        # Only now, with every released appeal sent on: a held one is stamped at or after it.
        frontier_seconds = merges.frontier_seconds(message.partition)
        promises.promise(message.partition, frontier_seconds)
        quiet_callers.forget(message.partition, frontier_seconds)
        metrics.MESSAGES_PROCESSED.labels(stage=STAGE).inc()


@app.on_partitions_assigned.connect
async def rebuild_after_rebalance(sender, assigned, **kwargs) -> None:
    merges.stale = True
    quiet_callers.stale = True
