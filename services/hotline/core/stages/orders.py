"""The orders stage: screened events, case links and clock ticks of one order partition,
in the order read -> each order's state (an event-sourced fold, hotline.core.order_flow),
its deadline events, escalation proposals for the escalate stage and office facts for
the pressure stage.

State (one partition's share of the orders table): "<order id>" → the order's table
value (`order_flow.table_value`: record, partition, when a finished order may leave);
"__watermark__/<partition>" → {"at"}, the partition's event-time watermark. In memory,
rebuilt from the table: the watermark, a due index of the instants the orders must be
checked at, the finished orders by when they leave, and the orders waiting for a link.

Rules kept here:
- Waiting for the link: an appeal whose screen verdict the dedupe stage links makes its
  order wait for the case link (`case_links`; without it, as in a chain with no dedupe
  stage, no order waits). The verdict decides, not the final one: the callers stage
  passes an appeal on to dedupe on the same verdict.
- An event past the calendar is rejected (`beyond_calendar`) and moves nothing; an
  event the order already holds is a duplicate and changes nothing, but still moves the
  watermark: read again after a crash, the checks it led to may not have been stored,
  and must run at the watermark they ran at the first time.
- Event time: the watermark is the highest event time read (or ticked); when it moves
  on, finished orders past their retention leave the table, then every order whose
  check instant it passed is checked (warnings, breaches), earliest first, and the
  watermark is stored last, so a crash before the checks were stored repeats them.
- Merge times: proposals and office facts carry the merge time the fold gave them; the
  clock promised downstream (`promised_seconds`) is the watermark, but never past the
  appeal of an order still waiting, whose proposals and facts are yet to come.
- A step's orders are stored after what it sent (the caller sends first).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping, Union

from hotline.core import escalation, order_flow
from hotline.core.deadlines import DueIndex
from hotline.core.dedupe import DedupeSettings
from hotline.core.ordering import MergeItem
from hotline.core.screening import Rejected
from hotline.core.stages.state import OFFICE_FACTS, Failed, Sent, StateView, Step, handle_each
from hotline.core.timeutil import parse_rfc3339
from hotline.core.workcalendar import CalendarRangeError

# Where a step's messages go; the agent maps these to its topics.
DEADLINES = "deadlines"
ESCALATION_PROPOSALS = "escalation_proposals"

WATERMARK_PREFIX = "__watermark__/"
BEYOND_CALENDAR = "beyond_calendar"


def watermark_key(partition: int) -> str:
    return f"{WATERMARK_PREFIX}{partition}"


@dataclass(frozen=True)
class ScreenedEvent:
    """An event of hotline.screened.v1, with where it was read (for a dead letter of it
    once it was held and failed)."""

    event: Mapping[str, Any]
    position: tuple[str, int, int] | None = None


@dataclass(frozen=True)
class CaseLink:
    """A record of hotline.cases.v1."""

    link: Mapping[str, Any]


@dataclass(frozen=True)
class Tick:
    """Event time moves on without input."""

    at_seconds: float


OrdersInput = Union[ScreenedEvent, CaseLink, Tick]


@dataclass(frozen=True)
class HeldRejection:
    """An event an order held while it waited, rejected when the link released it."""

    position: tuple[str, int, int] | None
    event: Mapping[str, Any]
    rejected: Rejected


@dataclass
class OrdersStep(Step):
    rejected: Rejected | None = None  # the input itself could not be applied
    duplicate: bool = False
    applied_at_seconds: float | None = None  # a screened event applied: its event time
    deadline_events: list[dict[str, Any]] = field(default_factory=list)
    damped: list[tuple[str, escalation.Damped]] = field(default_factory=list)  # (order id, damped)
    held_rejected: list[HeldRejection] = field(default_factory=list)
    due_checks: int = 0
    forgotten: int = 0
    records: dict[str, order_flow.OrderRecord] = field(default_factory=dict)  # order id -> as stored, the last


def _instant(at_seconds: float) -> datetime:
    return datetime.fromtimestamp(at_seconds, tz=timezone.utc)


class OrdersPartition:
    """One partition's watermark and indexes, rebuilt from its table values."""

    def __init__(
        self,
        rules: order_flow.OrderRules,
        case_links: DedupeSettings | None,
        retention: timedelta | None,
        partition: int,
        watermark: datetime | None = None,
        keep_decoded: bool = False,
    ):
        self.rules = rules
        self.case_links = case_links
        self.retention = retention  # None: finished orders stay
        self.partition = partition
        self.watermark = watermark
        self.due = DueIndex()
        self.forget = DueIndex()  # finished orders by when they leave the table
        self.waiting = DueIndex()  # orders waiting for their link, by since when
        # With `keep_decoded`, each order's last stored value and the record it encodes:
        # reading back that same value object skips decoding it. A table that hands out a
        # fresh decoded value on every read (the worker's) gains nothing from it.
        self.decoded: dict[str, tuple[Mapping[str, Any], order_flow.OrderRecord]] | None = {} if keep_decoded else None

    @classmethod
    def from_stored(
        cls,
        rules: order_flow.OrderRules,
        case_links: DedupeSettings | None,
        retention: timedelta | None,
        stored: Iterable[tuple[str, Mapping[str, Any]]],
    ) -> dict[int, "OrdersPartition"]:
        """Every partition's watermark and indexes from the table's (key, value) pairs."""
        partitions: dict[int, OrdersPartition] = {}

        def partition(number: int) -> OrdersPartition:
            if number not in partitions:
                partitions[number] = cls(rules, case_links, retention, number)
            return partitions[number]

        for key, value in stored:
            if key.startswith(WATERMARK_PREFIX):
                partition(int(key.rsplit("/", 1)[1])).watermark = parse_rfc3339(value["at"])
                continue
            index = order_flow.table_index(value)
            handler = partition(index.partition)
            if index.next_check_at is not None:
                handler.due.schedule(key, index.next_check_at)
            if index.forget_at is not None and retention is not None:
                handler.forget.schedule(key, index.forget_at)
            if index.link_wait_since is not None:
                handler.waiting.schedule(key, index.link_wait_since)
        return partitions

    @property
    def promised_seconds(self) -> float | None:
        """No proposal or fact this partition sends from now on is stamped before this."""
        # Asked after every message: the oldest wait comes off a heap, not a walk over all.
        candidates = [instant for instant in (self.waiting.next_at(), self.watermark) if instant is not None]
        return min(candidates).timestamp() if candidates else None

    def handle(self, items: Iterable[OrdersInput], view: StateView) -> list[OrdersStep | Failed]:
        return handle_each(items, view, self.step)

    def step(self, view: StateView, item: OrdersInput) -> OrdersStep:
        if isinstance(item, ScreenedEvent):
            return self.on_screened(view, item)
        if isinstance(item, CaseLink):
            return self.on_case_link(view, item.link)
        step = OrdersStep()
        self._advance(view, step, _instant(item.at_seconds))
        return step

    def awaits_link(self, event: Mapping[str, Any]) -> bool:
        """Whether the event is an appeal the dedupe stage will link."""
        return self.case_links is not None and event["type"] == "appeal.received" and self.case_links.links(event["verdict"]["status"])

    def on_screened(self, view: StateView, item: ScreenedEvent) -> OrdersStep:
        event = item.event
        order_id = event["order_id"]
        occurred_at = parse_rfc3339(event["occurred_at"])
        record = self._load(view, order_id)
        step = OrdersStep()
        try:
            flow = order_flow.on_screened_event(record, event, self.watermark, self.rules, self.awaits_link(event), item.position)
        except CalendarRangeError as error:
            step.rejected = Rejected(BEYOND_CALENDAR, str(error), event.get("caused_by"))
            return step
        if flow.duplicate:
            step.duplicate = True
        else:
            self._publish(step, order_id, flow)
            self._store(view, step, order_id, flow.record)
            step.applied_at_seconds = occurred_at.timestamp()
        self._advance(view, step, occurred_at)
        return step

    def on_case_link(self, view: StateView, link: Mapping[str, Any]) -> OrdersStep:
        order_id = link["order_id"]
        step = OrdersStep()
        flow = order_flow.on_case_link(self._load(view, order_id), order_id, link, self.rules, self.watermark)
        if flow.duplicate:
            step.duplicate = True
            return step
        self._publish(step, order_id, flow)
        self._store(view, step, order_id, flow.record)
        return step

    def _advance(self, view: StateView, step: OrdersStep, instant: datetime) -> None:
        if self.watermark is not None and instant <= self.watermark:
            return
        self.watermark = instant
        for order_id in self.forget.pop_due(instant):
            view.pop(step, order_id)
            if self.decoded is not None:
                self.decoded.pop(order_id, None)
            self.due.schedule(order_id, None)
            step.forgotten += 1
        for order_id in self.due.pop_due(instant):
            record = self._load(view, order_id)
            if record is None:
                continue
            step.due_checks += 1
            flow = order_flow.on_watermark(record, instant, self.rules)
            self._publish(step, order_id, flow)
            self._store(view, step, order_id, flow.record)
        view.put(step, watermark_key(self.partition), {"at": instant.isoformat()})

    def _load(self, view: StateView, order_id: str) -> order_flow.OrderRecord | None:
        stored = view.get(order_id)
        if stored is None:
            return None
        if self.decoded is not None:
            kept = self.decoded.get(order_id)
            if kept is not None and kept[0] is stored:
                return kept[1]
        return order_flow.record_of(stored)

    def _store(self, view: StateView, step: OrdersStep, order_id: str, record: order_flow.OrderRecord) -> None:
        value = order_flow.table_value(record, self.partition, self.retention or timedelta(0))
        view.put(step, order_id, value)
        step.records[order_id] = record
        if self.decoded is not None:
            self.decoded[order_id] = (value, record)
        self.due.schedule(order_id, record.next_check_at)
        if self.retention is not None:
            self.forget.schedule(order_id, record.forget_at(self.retention))
        self.waiting.schedule(order_id, record.link_wait_since)

    @staticmethod
    def _publish(step: OrdersStep, order_id: str, flow: order_flow.OrderStep) -> None:
        for event in flow.deadline_events:
            step.sent.append(Sent(DEADLINES, event["order_id"], event))
            step.deadline_events.append(event)
        for proposal, merge_at in zip(flow.proposals, flow.proposal_merge_at, strict=True):
            item = MergeItem(merge_at.timestamp(), proposal.key, proposal.to_dict())
            step.sent.append(Sent(ESCALATION_PROPOSALS, proposal.to_office_id, item.to_dict()))
        step.damped.extend((order_id, damped) for damped in flow.damped)
        for fact, merge_at, key in zip(flow.facts, flow.fact_merge_at, flow.fact_keys, strict=True):
            item = MergeItem(merge_at, key, dict(fact.__dict__))
            step.sent.append(Sent(OFFICE_FACTS, fact.office_id, item.to_dict()))
        for held, reason, detail in flow.rejected:
            step.held_rejected.append(HeldRejection(held.position, held.event, Rejected(reason, detail, held.event.get("caused_by"))))
