"""Live mode: wall-clock ticks for idle partitions, on the app's clock-ticks topic.

Consumes the newest input event the screen agent read on this worker (`ticker.newest_input`)
and the wall clock; produces, on the group leader every idle-advance interval, one tick
per partition to the instant hotline.core.idle_advance decides, which the screen and
orders agents take as "event time has reached this instant". No ticks in replay mode,
before any input is read, or while the newest input is historic: then the leader says
so once in its log (and again when current input resumes) and counts each tick it holds
back in hotline_idle_ticks_withheld_total.

The leader judges by the input its own partitions have read: every partition of one
source carries the same kind of input, current or historic.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone

from hotline.contract import codec
from hotline.core import idle_advance
from hotline.core.timeutil import format_utc
from hotline.stream import metrics
from hotline.stream.app import app, clock_ticks_topic, settings

log = logging.getLogger(__name__)


class IdleTicker:
    """The newest input read here, and the state last reported (so it is logged once)."""

    def __init__(self, idle_advance_seconds: int) -> None:
        self.idle_advance_seconds = idle_advance_seconds
        self.newest_input = idle_advance.NewestInput()
        self.state = idle_advance.AWAITING_INPUT

    def decide(self, now_seconds: float) -> idle_advance.IdleAdvance:
        decision = idle_advance.decide_idle_advance(now_seconds, self.newest_input, self.idle_advance_seconds)
        if decision.state != self.state:
            self.state = decision.state
            self._say(decision)
        return decision

    def _say(self, decision: idle_advance.IdleAdvance) -> None:
        if decision.state == idle_advance.HISTORIC_INPUT:
            newest = datetime.fromtimestamp(self.newest_input.occurred_at_seconds, tz=timezone.utc)
            log.warning(
                "live mode: the input is historic (newest event time %s, read %.1f days behind the wall clock): "
                "idle partitions are not moved to the wall clock until current input is read; "
                "to replay history, run the worker in replay mode and end with `hotline clock advance`",
                format_utc(newest),
                decision.input_lag_seconds / 86400,
            )
        elif decision.state == idle_advance.FOLLOWING_WALL_CLOCK:
            log.info("live mode: the input is current: idle partitions follow the wall clock less %s s", self.idle_advance_seconds)


ticker = IdleTicker(settings.idle_advance_seconds)


@app.timer(interval=max(settings.idle_advance_seconds, 1.0), on_leader=True)
async def tick_idle_partitions() -> None:
    """Every partition, idle or not, gets the tick; a busy one is already past it."""
    if not settings.live:
        return
    decision = ticker.decide(time.time())
    if decision.tick_at_seconds is None:
        metrics.IDLE_TICKS_WITHHELD.labels(reason=decision.state).inc(app.conf.topic_partitions)
        return
    value = codec.encode({"now_seconds": decision.tick_at_seconds})
    for partition in range(app.conf.topic_partitions):
        await clock_ticks_topic.send(key=b"tick", value=value, partition=partition)
