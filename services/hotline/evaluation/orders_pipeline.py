"""The screen → orders (deadlines, escalation proposals) → escalate chain, run offline.

Consumes hotline.events.v1 messages (bytes, one event each) in the order a worker would
read them, an office registry and the deadline and escalation policies. Produces what
the orders and escalate agents would publish: hotline.deadlines.v1 events and
hotline.escalations.v1 events (escalation.raised, escalation.summarised), plus what they
only count: proposals held back by a daily budget and damped escalations, each with its
order id, and the dead letters by reason.

It calls the stage handlers the Faust agents call (hotline.core.stages), in the agents'
order, their tables dicts:

- screen stage, per message: the screen handler, without screening rules (see below),
  validates it; what it sends to hotline.screened.v1 goes to the orders stage.
- orders stage, per screened event: the orders handler of the order's partition
  applies it at the partition's watermark as it was before the event, then moves the
  watermark to the event's occurred_at if that is later and checks every order whose
  check instant the new watermark passed, earliest first.
- escalate stage, per proposal (in the order the orders stage emits them, stamped with
  the merge time the orders stage gives it): the escalate handler the agent calls
  (hotline.core.stages.escalate), which closes the days that ended by that merge time and
  then admits the proposal on the receiving office's daily budget.

Watermarks. The orders agent keeps one watermark per Kafka partition of the input
topic. Offline, `partitions` models that: an order's partition is a stable hash of its
id, and each partition has its own watermark and due index. With `partitions=1` (the
default) there is one global watermark, the highest occurred_at read so far. Either way
the outcome of an order depends only on its partition's sequence of events, so reading
the partitions interleaved differently changes nothing as long as each partition's own
sequence is kept (what Kafka guarantees); an event read after its partition's watermark
passed its own deadline instants is late, and the deadline rules then decide on the
watermark (hotline.core.deadlines, "Limits"). The escalate stage runs as one partition
of the proposals topic (the agent has one per partition).

Not in this chain: the verdict rules and the dedupe stage. Every appeal keeps the screen
stage's "accepted" verdict (no flagged-appeal damping) and no case links arrive, so the
`repeated_appeals` reason cannot rise here.
"""

from __future__ import annotations

import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Mapping

from hotline.contract.schemas import event_validator
from hotline.core import escalation, order_flow
from hotline.core.ordering import MergeItem
from hotline.core.screening import Rejected, ScreenSettings
from hotline.core.stages.escalate import EscalatePartition
from hotline.core.stages.orders import BEYOND_CALENDAR, ESCALATION_PROPOSALS, WATERMARK_PREFIX, OrdersPartition, OrdersStep, ScreenedEvent, Tick
from hotline.core.stages.screen import RawEvent, ScreenPartition
from hotline.core.stages.state import Failed, StateView
from hotline.evaluation.pipeline import EVALUATION_PSEUDONYM_KEY, MemoryTable

__all__ = ["BEYOND_CALENDAR", "HeldBackProposal", "OfflineEscalate", "OrdersRun", "partition_of", "replay_orders"]


def partition_of(order_id: str, partitions: int) -> int:
    """A stable stand-in for the producer's key partitioner (same key, same partition)."""
    return zlib.crc32(order_id.encode("utf-8")) % partitions


@dataclass
class HeldBackProposal:
    """A proposal the receiving office's budget held back, with the local day it fell on."""

    proposal: escalation.Proposal
    day: str


@dataclass
class OrdersRun:
    deadline_events: list[dict[str, Any]] = field(default_factory=list)
    escalation_events: list[dict[str, Any]] = field(default_factory=list)
    held_back: list[HeldBackProposal] = field(default_factory=list)
    damped: list[tuple[str, escalation.Damped]] = field(default_factory=list)
    records: dict[str, order_flow.OrderRecord] = field(default_factory=dict)
    budgets: dict[str, escalation.OfficeBudget] = field(default_factory=dict)
    dead_letters: Counter[str] = field(default_factory=Counter)
    events_read: int = 0
    duplicates: int = 0
    due_checks: int = 0

    @property
    def raised(self) -> list[dict[str, Any]]:
        return [event for event in self.escalation_events if event["type"] == "escalation.raised"]

    @property
    def summaries(self) -> list[dict[str, Any]]:
        return [event for event in self.escalation_events if event["type"] == "escalation.summarised"]


class OfflineEscalate:
    """The escalate handler (hotline.core.stages.escalate) over one partition of the
    proposals topic, its budgets table a dict; what it raises, summarises and holds back
    goes to the run."""

    def __init__(self, run: OrdersRun, policy: escalation.EscalationPolicy, offices: Mapping[str, Mapping[str, Any]]):
        self.run = run
        self.handler = EscalatePartition(policy, offices, 0)
        self.table = MemoryTable()

    def accept(self, proposal: escalation.Proposal, merge_at: datetime) -> None:
        """One proposal, with the merge time the orders stage stamped on it."""
        self.accept_item(MergeItem(merge_at.timestamp(), proposal.key, proposal.to_dict()))

    def accept_item(self, item: MergeItem) -> None:
        """One proposal as the orders stage sends it: stamped with its merge time."""
        for step in self.handler.handle([item], StateView(self.table.get)):
            self.table.apply(step)
            self.run.escalation_events.extend(step.events)
            self.run.held_back.extend(HeldBackProposal(held, escalation.local_day(held.occurred_at).isoformat()) for held in step.held_back)
            for write in step.written:
                self.run.budgets[write.key] = escalation.OfficeBudget.from_dict(write.value["budget"])


def replay_orders(
    lines: Iterable[bytes],
    rules: order_flow.OrderRules,
    partitions: int = 1,
    closing_watermark: datetime | None = None,
    keep_decoded: bool = True,
) -> OrdersRun:
    """Run every message through screen -> orders -> escalate (see the module docstring).

    `closing_watermark`, when given, is applied to every partition after the last
    message, as the live-mode clock tick does: the log was read at that instant, so the
    open orders' warnings and breaches due before it fire.

    `keep_decoded` (the default): each orders handler keeps the record it last stored
    beside the value and reads it back without decoding (the table is a dict holding
    that very value); False decodes every read, as the worker does. Both give the
    same outputs and the same stored values."""
    if partitions < 1:
        raise ValueError(f"partitions must be at least 1, got {partitions}")
    # No screening rules: appeals reach the orders stage as validated, with no verdict.
    screen = ScreenPartition(None, ScreenSettings(pseudonym_key=EVALUATION_PSEUDONYM_KEY), event_validator(), 0)
    screen_table = MemoryTable()
    run = OrdersRun()
    escalate = OfflineEscalate(run, rules.escalation_policy, rules.offices)
    handlers = [OrdersPartition(rules, None, None, partition, keep_decoded=keep_decoded) for partition in range(partitions)]
    table = MemoryTable()

    def apply(step: OrdersStep | Failed) -> OrdersStep:
        table.apply(step)
        run.deadline_events.extend(step.deadline_events)
        run.damped.extend(step.damped)
        run.due_checks += step.due_checks
        for sent in step.sent:
            if sent.topic == ESCALATION_PROPOSALS:
                escalate.accept_item(MergeItem.from_dict(sent.value))
        return step

    for offset, raw in enumerate(line for line in lines if line.strip()):
        run.events_read += 1
        [screened] = screen.handle([RawEvent(offset, raw)], StateView(screen_table.get))
        outcome = screen_table.apply(screened).outcome
        if isinstance(outcome, Rejected):
            run.dead_letters[outcome.reason] += 1
            continue
        for sent in screened.sent:
            handler = handlers[partition_of(sent.key, partitions)]
            [step] = handler.handle([ScreenedEvent(sent.value)], StateView(table.get))
            step = apply(step)
            if step.rejected is not None:
                run.dead_letters[step.rejected.reason] += 1
            elif step.duplicate:
                run.duplicates += 1
    if closing_watermark is not None:
        for handler in handlers:
            [step] = handler.handle([Tick(closing_watermark.timestamp())], StateView(table.get))
            apply(step)
    # The records each handler kept beside the values it stored, decoded only otherwise.
    kept = {key: decoded for handler in handlers for key, decoded in (handler.decoded or {}).items()}
    run.records = {
        key: kept[key][1] if key in kept and kept[key][0] is value else order_flow.record_of(value)
        for key, value in table.items()
        if not key.startswith(WATERMARK_PREFIX)
    }
    return run
