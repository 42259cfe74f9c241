"""The callers stage: appeals of one caller partition, in event-time order -> the final
verdict on each (the frequent-caller rule added to the screen stage's verdict), and the
linkable ones passed on to the dedupe stage, keyed by place.

State (one partition's share of the callers table): "caller|<pseudonym>" → {"history",
"partition"}, a caller's recent appeals.

Rules kept here:
- Whether an appeal goes on to the dedupe stage follows the screen stage's verdict, not
  the final one: the orders stage decided from that verdict whether the appeal's order
  waits for a case link, so an appeal it waits for must reach dedupe (the frequent-caller
  rule only ever flags, but `skip_verdicts` may name "flagged"). The appeal goes on
  carrying its final verdict, with the merge time the screen stage stamped on it.
- A caller's history is stored only when the appeal changed it: an appeal released again
  after a crash finds itself in the history and gets the verdict recorded the first time.
- A caller whose newest appeal left the frequent-caller window on the partition's merge
  frontier can no longer change a verdict and leaves the table, so it holds the window's
  callers, not every caller ever heard.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

from hotline.core import dedupe, screen_rules
from hotline.core.deadlines import DueIndex
from hotline.core.ordering import MergeItem
from hotline.core.stages.state import APPEALS_BY_PLACE, Failed, Sent, StateView, Step, handle_each

CALLER_PREFIX = "caller|"


def caller_key(caller_id: str) -> str:
    return f"{CALLER_PREFIX}{caller_id}"


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


@dataclass
class JudgeStep(Step):
    verdict: screen_rules.Verdict | None = None
    occurred_at_seconds: float = 0.0
    judged: dict[str, Any] | None = None  # the appeal with its final verdict, as dedupe gets it


@dataclass
class ForgetStep(Step):
    forgotten: int = 0


class CallersPartition:
    """One partition's callers by when their newest appeal leaves the window."""

    def __init__(
        self,
        rules: screen_rules.ScreeningRules,
        dedupe_settings: dedupe.DedupeSettings,
        partition: int,
        stored: Iterable[tuple[str, Mapping[str, Any]]] = (),
    ):
        self.rules = rules
        self.dedupe_settings = dedupe_settings
        self.partition = partition
        self.quiet = DueIndex()
        for key, value in stored:
            self._schedule(key, screen_rules.CallerHistory.from_json(value["history"]))

    @classmethod
    def from_stored(
        cls, rules: screen_rules.ScreeningRules, dedupe_settings: dedupe.DedupeSettings, stored: Iterable[tuple[str, Mapping[str, Any]]]
    ) -> dict[int, "CallersPartition"]:
        """Every partition's callers from the table's (key, value) pairs (other keys ignored)."""
        groups: dict[int, list] = {}
        for key, value in stored:
            if key.startswith(CALLER_PREFIX):
                groups.setdefault(value["partition"], []).append((key, value))
        return {partition: cls(rules, dedupe_settings, partition, pairs) for partition, pairs in groups.items()}

    def handle(self, items: Iterable[MergeItem], view: StateView) -> list[JudgeStep | Failed]:
        """Judge each released item (its payload: an appeal with the screen stage's verdict)."""
        return handle_each(items, view, self.judge)

    def judge(self, view: StateView, item: MergeItem) -> JudgeStep:
        screened = item.payload
        appeal = self.rules.appeal_from_screened(screened)
        content_verdict = screen_rules.Verdict(screened["verdict"]["status"], tuple(screened["verdict"]["reasons"]))
        stored = view.get(caller_key(appeal.caller_id)) if appeal.caller_id else None
        history = screen_rules.CallerHistory.from_json(stored["history"]) if stored else None
        judgement = self.rules.judge_caller(appeal, content_verdict, history)
        step = JudgeStep(verdict=judgement.verdict, occurred_at_seconds=appeal.occurred_at_seconds)
        if self.dedupe_settings.links(content_verdict.status):
            step.judged = screen_rules.apply_verdict(screened, judgement.verdict)
            forwarded = MergeItem(item.at_seconds, item.key, step.judged)
            step.sent.append(Sent(APPEALS_BY_PLACE, dedupe.place_key(appeal), forwarded.to_dict()))
        if judgement.caller_history is not None and judgement.caller_history != history:
            key = caller_key(appeal.caller_id)
            view.put(step, key, {"history": judgement.caller_history.to_json(), "partition": self.partition})
            self._schedule(key, judgement.caller_history)
        return step

    def forget_quiet(self, view: StateView, frontier_seconds: float | None) -> ForgetStep:
        """Drop the callers that are quiet on the merge frontier: an appeal still to come
        is stamped at or after it."""
        step = ForgetStep()
        if frontier_seconds is None:
            return step
        for key in self.quiet.pop_due(_utc(frontier_seconds)):
            view.put(step, key, None)
            step.forgotten += 1
        return step

    def _schedule(self, key: str, history: screen_rules.CallerHistory) -> None:
        if history.appeals:
            newest_seconds = max(appeal.occurred_at_seconds for appeal in history.appeals)
            self.quiet.schedule(key, _utc(newest_seconds + self.rules.frequent_caller.window_seconds))
