"""The screen stage: input events of one events partition, in the order read -> each event
validated, normalised, pseudonymised and redacted for hotline.screened.v1 (or rejected,
for the dead-letter topic), and appeals, judged on their content, stamped for the callers
stage.

State (one partition's share of the screen-clocks table): "screen/<partition>" →
{"at_seconds", "offset", "partition"}, the clock promised to the callers stage and the
input offset it covers (hotline.core.ordering.StampClock).

Rules kept here:
- What goes where: every valid event goes to hotline.screened.v1 under its order id, an
  appeal with its canonical category and urgency and the verdict on its content (the
  caller's other appeals are the callers stage's to judge); an appeal also goes to the
  callers stage, keyed by caller pseudonym (an appeal without a caller, as 311 imports
  have, under its order id), stamped with the partition's clock and keyed for the merge
  by order id and cause.
- Stamps: a valid event moves the partition's clock to its event time (never back); an
  event read again after a crash, at or before the stored clock's offset, is stamped as
  the first time. A rejected event stamps nothing.
- Storing the clock: at most once per `store_interval_seconds` of the reader's monotonic
  time (every event would double the changelog traffic, and the promise only ever uses
  the stored value, so a longer interval only delays the promise); a clock tick is
  stored at once. The clock is promised to the callers stage whenever it is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from hotline.core import screen_rules
from hotline.core.ordering import MergeItem, StampClock
from hotline.core.screening import Rejected, Screened, ScreenSettings, Validates, screen
from hotline.core.stages.state import Failed, Sent, StateView, Step, handle_each

# Where a step's messages go; the agent maps these to its topics.
SCREENED = "screened"
APPEALS_BY_CALLER = "appeals_by_caller"

APPEAL_RECEIVED = "appeal.received"
CLOCK_PREFIX = "screen/"
CLOCK_STORE_INTERVAL_SECONDS = 0.5


def clock_key(partition: int) -> str:
    return f"{CLOCK_PREFIX}{partition}"


def caller_key(appeal: screen_rules.Appeal) -> str:
    """The callers stage's key: the caller's pseudonym; an appeal without a caller (311
    imports) is judged on its own, under its order id."""
    return appeal.caller_id or f"order:{appeal.order_id}"


@dataclass(frozen=True)
class RawEvent:
    """One message of the events partition as read."""

    offset: int
    value: bytes | None
    read_at_seconds: float | None = None  # the wall clock when read: bounds how far ahead an event may be
    monotonic_seconds: float = 0.0  # the reader's monotonic clock, for the clock's store interval


@dataclass
class ScreenStep(Step):
    outcome: Screened | Rejected | None = None  # None for a clock tick
    promised_seconds: float | None = None  # the clock to promise the callers stage, when stored


class ScreenPartition:
    """One events partition: its stamp clock and when it was last stored."""

    def __init__(
        self,
        rules: screen_rules.ScreeningRules | None,
        settings: ScreenSettings,
        validator: Validates,
        partition: int,
        clock: StampClock | None = None,
        store_interval_seconds: float = CLOCK_STORE_INTERVAL_SECONDS,
    ):
        self.rules = rules
        self.settings = settings
        self.validator = validator
        self.partition = partition
        self.clock = clock if clock is not None else StampClock()
        self.store_interval_seconds = store_interval_seconds
        self.stored_at_monotonic: float | None = None

    @classmethod
    def from_stored(
        cls,
        rules: screen_rules.ScreeningRules,
        settings: ScreenSettings,
        validator: Validates,
        stored: Iterable[Mapping[str, Any]],
    ) -> dict[int, "ScreenPartition"]:
        """Every partition's clock from the table's values."""
        return {
            value["partition"]: cls(rules, settings, validator, value["partition"], StampClock(value["at_seconds"], value.get("offset", -1)))
            for value in stored
        }

    @property
    def clock_seconds(self) -> float | None:
        return self.clock.clock_seconds

    def handle(self, events: Iterable[RawEvent], view: StateView) -> list[ScreenStep | Failed]:
        """Screen each message read."""
        return handle_each(events, view, self.screen)

    def screen(self, view: StateView, raw: RawEvent) -> ScreenStep:
        outcome = screen(raw.value, self.validator, self.settings, now_seconds=raw.read_at_seconds)
        step = ScreenStep(outcome=outcome)
        if isinstance(outcome, Rejected):
            return step
        merge_at_seconds = self.clock.stamp(raw.offset, outcome.occurred_at_seconds)
        self._store(view, step, raw.monotonic_seconds)
        event = outcome.event
        if event["type"] != APPEAL_RECEIVED or self.rules is None:
            step.sent.append(Sent(SCREENED, outcome.order_id, event))
            return step
        appeal = self.rules.appeal_from_screened(event)
        judged = screen_rules.judged_appeal(event, appeal, self.rules.content_verdict(appeal))
        step.sent.append(Sent(SCREENED, appeal.order_id, judged))
        item = MergeItem(merge_at_seconds, f"{appeal.order_id}|{event['caused_by']}", judged)
        step.sent.append(Sent(APPEALS_BY_CALLER, caller_key(appeal), item.to_dict()))
        return step

    def advance(self, view: StateView, at_seconds: float, monotonic_seconds: float = 0.0) -> ScreenStep:
        """A clock tick (live mode, the end of a replay): event time moves on without
        input; the clock is stored and promised at once."""
        step = ScreenStep()
        self.clock.advance(at_seconds)
        self._store(view, step, monotonic_seconds, at_once=True)
        return step

    def _store(self, view: StateView, step: ScreenStep, monotonic_seconds: float, at_once: bool = False) -> None:
        last = self.stored_at_monotonic
        if not at_once and last is not None and monotonic_seconds - last < self.store_interval_seconds:
            return
        value = {"at_seconds": self.clock.clock_seconds, "offset": self.clock.covered_offset, "partition": self.partition}
        view.put(step, clock_key(self.partition), value)
        self.stored_at_monotonic = monotonic_seconds
        step.promised_seconds = self.clock.clock_seconds
