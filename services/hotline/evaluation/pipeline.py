"""The screen → callers → dedupe chain, run offline over JSON lines of events.

Consumes hotline.events.v1 events in file order (the order a worker would see them) and
produces, per appeal, the verdict and the case decision, plus how long the chain took.
It calls the stage handlers the Faust agents call (hotline.core.stages), in one process
and one partition each: the screen handler validates each line (its offset: the line's
number among the non-blank ones), re-sent events are skipped through the seen-set, and
the appeals the screen handler sends to the callers stage, with their content verdict
and stamp, go to the callers handler, which adds the frequent-caller rule and passes
the linkable appeals to the dedupe handler; that one forgets old appeals as event time
moves on, as a worker's does.
`case_records` turns the decisions into the hotline.cases.v1 records the dedupe agent
would publish.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable

from hotline.contract.schemas import event_validator
from hotline.core.dedupe import CaseDecision, DedupeSettings
from hotline.core.idempotency import SeenEventIds
from hotline.core.ordering import MergeItem
from hotline.core.screen_rules import ScreeningRules, Verdict
from hotline.core.screening import Rejected, ScreenSettings
from hotline.core.stages.callers import CallersPartition
from hotline.core.stages.dedupe import DedupePartition
from hotline.core.stages.screen import APPEALS_BY_CALLER, RawEvent, ScreenPartition
from hotline.core.stages.state import Failed, StateView, Step

# Offline runs need stable pseudonyms, not secret ones: no pseudonym leaves the process.
EVALUATION_PSEUDONYM_KEY = b"hotline-offline-evaluation-key"
APPEAL_RECEIVED = "appeal.received"


@dataclass
class OfflineRun:
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    decisions: dict[str, CaseDecision] = field(default_factory=dict)
    events_read: int = 0
    appeals: int = 0
    resent_events: int = 0
    dead_letters: int = 0
    elapsed_seconds: float = 0.0
    peak_index_size: int = 0
    final_index_size: int = 0

    @property
    def appeals_per_second(self) -> float:
        return self.appeals / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0


class MemoryTable(dict):
    """A stage's table, offline: a step's writes are applied as the agent stores them."""

    def apply(self, step: Step | Failed) -> Any:
        if isinstance(step, Failed):
            raise step.error
        for write in step.written:
            if write.value is None:
                self.pop(write.key, None)
            else:
                self[write.key] = write.value
        return step


def run_offline(lines: Iterable[bytes], rules: ScreeningRules, dedupe_settings: DedupeSettings) -> OfflineRun:
    """Screen, judge and dedupe every appeal.received line; other event types are
    screened (validated) and otherwise ignored."""
    screen = ScreenPartition(rules, ScreenSettings(pseudonym_key=EVALUATION_PSEUDONYM_KEY), event_validator(), 0)
    screen_table = MemoryTable()
    seen = SeenEventIds(dedupe_settings.resend_window_seconds, dedupe_settings.resend_max_entries)
    callers, callers_table = CallersPartition(rules, dedupe_settings, 0), MemoryTable()
    dedupe, dedupe_table = DedupePartition(rules, dedupe_settings, 0), MemoryTable()
    run = OfflineRun()
    started = time.perf_counter()
    for offset, raw in enumerate(line for line in lines if line.strip()):
        run.events_read += 1
        [screened] = screen.handle([RawEvent(offset, raw)], StateView(screen_table.get))
        outcome = screen_table.apply(screened).outcome
        if isinstance(outcome, Rejected):
            run.dead_letters += 1
            continue
        if not seen.record(outcome.event["caused_by"], outcome.occurred_at_seconds):
            run.resent_events += 1
            continue
        for sent in screened.sent:
            if sent.topic != APPEALS_BY_CALLER:
                continue
            run.appeals += 1
            item = MergeItem.from_dict(sent.value)
            [judged] = callers.handle([item], StateView(callers_table.get))
            callers_table.apply(judged)
            order_id = item.payload["order_id"]
            run.verdicts[order_id] = judged.verdict
            if judged.judged is not None:
                [linked] = dedupe.handle([judged.judged], StateView(dedupe_table.get))
                run.decisions[order_id] = dedupe_table.apply(linked).decision
                run.peak_index_size = max(run.peak_index_size, dedupe.index.size)
    run.elapsed_seconds = time.perf_counter() - started
    run.final_index_size = dedupe.index.size
    return run


def case_records(cases: OfflineRun) -> dict[str, dict[str, Any]]:
    """Order id -> the hotline.cases.v1 record the dedupe agent would publish for the
    appeal, with its case's repeat count so far and the appeal's final verdict."""
    repeats: Counter[str] = Counter()
    records = {}
    for order_id, decision in cases.decisions.items():
        if decision.relation is not None:
            repeats[decision.case_id] += 1
        records[order_id] = decision.to_event(repeats[decision.case_id] if decision.relation else 0, cases.verdicts[order_id].to_json())
    return records
