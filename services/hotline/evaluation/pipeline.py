"""The screen → verdict rules → dedupe chain, run offline over JSON lines of events.

Consumes hotline.events.v1 events in file order (the order a worker would see them) and
produces, per appeal, the verdict and the case decision, plus how long the chain took.
It wires the same pure functions the Faust agents call, in one process: re-sent events
are skipped through the seen-set, rejected appeals skip dedupe, and the dedupe index is
purged by the event-time watermark as a worker would. `case_records` turns the decisions
into the hotline.cases.v1 records the dedupe agent would publish.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable

from hotline.contract.schemas import event_validator
from hotline.core.dedupe import CaseDecision, CaseIndex, DedupeSettings
from hotline.core.idempotency import SeenEventIds
from hotline.core.screen_rules import CallerHistory, ScreeningRules, Verdict
from hotline.core.screening import Rejected, ScreenSettings, screen

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


def run_offline(
    lines: Iterable[bytes],
    rules: ScreeningRules,
    dedupe_settings: DedupeSettings,
    purge_every_appeals: int = 500,
) -> OfflineRun:
    """Screen, judge and dedupe every appeal.received line; other event types are
    screened (validated) and otherwise ignored."""
    validator = event_validator()
    screen_settings = ScreenSettings(pseudonym_key=EVALUATION_PSEUDONYM_KEY)
    seen = SeenEventIds(dedupe_settings.resend_window_seconds, dedupe_settings.resend_max_entries)
    index = CaseIndex(dedupe_settings)
    histories: dict[str, CallerHistory] = {}
    watermark_seconds = float("-inf")
    run = OfflineRun()
    started = time.perf_counter()
    for raw in lines:
        if not raw.strip():
            continue
        run.events_read += 1
        outcome = screen(raw, validator, screen_settings)
        if isinstance(outcome, Rejected):
            run.dead_letters += 1
            continue
        event = outcome.event
        if not seen.record(event["caused_by"], outcome.occurred_at_seconds):
            run.resent_events += 1
            continue
        if event["type"] != APPEAL_RECEIVED:
            continue
        run.appeals += 1
        appeal = rules.appeal_from_screened(event)
        judgement = rules.judge(appeal, histories.get(appeal.caller_id) if appeal.caller_id else None)
        if appeal.caller_id and judgement.caller_history is not None:
            histories[appeal.caller_id] = judgement.caller_history
        run.verdicts[appeal.order_id] = judgement.verdict
        if dedupe_settings.links(judgement.verdict.status):
            run.decisions[appeal.order_id] = index.link(appeal)
        watermark_seconds = max(watermark_seconds, appeal.occurred_at_seconds)
        if run.appeals % purge_every_appeals == 0:
            run.peak_index_size = max(run.peak_index_size, index.size)
            index.purge(watermark_seconds)
    run.peak_index_size = max(run.peak_index_size, index.size)
    run.elapsed_seconds = time.perf_counter() - started
    run.final_index_size = index.size
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
