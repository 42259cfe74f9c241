"""Orders agent: screened events, case links and clock ticks -> order state, deadline
events on hotline.deadlines.v1, escalation proposals for the escalate agent, office
facts for the pressure agent.

Everything arrives keyed by order_id, so an order's table value lives in one partition.
An order is stored after what its step sent (hotline.stream.write_order): after a crash,
an event the table already holds was fully published.
Each partition keeps an event-time watermark (the highest occurred_at seen on it) and a
due index of the instants its orders must be checked at, so a watermark advance touches
only orders that are due. Both are rebuilt from the table after a rebalance.

An appeal the dedupe stage will link makes its order wait for the link (see
hotline.core.order_flow). Escalation proposals are stamped with a merge time and each
partition promises the escalate and pressure stages a clock (hotline.stream.clocks): its
watermark, but never past the appeal of an order still waiting, whose proposals and
office facts are yet to come.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta, timezone

from hotline.contract import codec, topics
from hotline.core import order_flow
from hotline.core.deadletters import SourcePosition
from hotline.core.deadlines import DueIndex, DeadlineTracker
from hotline.core.screening import Rejected
from hotline.core.timeutil import parse_rfc3339
from hotline.core.workcalendar import CalendarRangeError
from hotline.stream import bootstrap, metrics
from hotline.stream.agents import rates
from hotline.stream.clocks import ClockPromises, merge_item, register
from hotline.stream.app import (
    CompactJsonTable,
    app,
    clock_ticks_topic,
    deadlines_topic,
    escalation_proposals_topic,
    office_facts_topic,
    raw_topics,
    settings,
)
from hotline.stream.deadletters import send_dead_letter, send_dead_letter_at
from hotline.stream.registry import registry

STAGE = "orders"
log = logging.getLogger(__name__)

tracker = DeadlineTracker(bootstrap.rules().deadlines)
escalation_policy = bootstrap.rules().escalation
dedupe_settings = bootstrap.rules().dedupe
# Finished orders leave the table after this much event time, so its size follows the
# open orders and the recent past, not the whole history.
CLOSED_ORDER_RETENTION = timedelta(days=settings.closed_order_retention_days)
orders_table = CompactJsonTable("orders", "Per order: state fold, deadline clocks, escalations, office marks")
WATERMARK_KEY = "__watermark__/{partition}"


class PartitionClocks:
    """Per partition: the event-time watermark and the due index of its orders."""

    def __init__(self) -> None:
        self.watermarks: dict[int, datetime] = {}
        self.due: dict[int, DueIndex] = defaultdict(DueIndex)
        self.forget: dict[int, DueIndex] = defaultdict(DueIndex)  # finished orders by when to drop them
        self.waiting: dict[int, dict[str, datetime]] = defaultdict(dict)  # orders waiting for their link
        self.promises = register(ClockPromises(STAGE, escalation_proposals_topic, office_facts_topic))
        self.stale = True

    def rebuild(self) -> None:
        self.watermarks.clear()
        self.due.clear()
        self.forget.clear()
        self.waiting.clear()
        for key, value in orders_table.items():
            if key.startswith("__watermark__/"):
                self.watermarks[int(key.rsplit("/", 1)[1])] = parse_rfc3339(value["at"])
                continue
            index = order_flow.table_index(value)
            if index.next_check_at is not None:
                self.due[index.partition].schedule(key, index.next_check_at)
            if index.forget_at is not None:
                self.forget[index.partition].schedule(key, index.forget_at)
            if index.link_wait_since is not None:
                self.waiting[index.partition][key] = index.link_wait_since
        self.stale = False
        for partition in self.watermarks:
            self.promise(partition)
        metrics.ORDERS_WAITING_FOR_LINK.set(sum(len(waiting) for waiting in self.waiting.values()))

    def promise(self, partition: int) -> None:
        """No proposal this partition sends from now on is stamped before this clock."""
        candidates = [*self.waiting[partition].values()]
        if partition in self.watermarks:
            candidates.append(self.watermarks[partition])
        if candidates:
            self.promises.promise(partition, min(candidates).timestamp())

    def advance(self, partition: int, instant: datetime) -> bool:
        """Move the partition's watermark forward (in memory; `store_watermark` keeps it)."""
        current = self.watermarks.get(partition)
        if current is not None and instant <= current:
            return False
        self.watermarks[partition] = instant
        return True

    def store_watermark(self, partition: int) -> None:
        orders_table[WATERMARK_KEY.format(partition=partition)] = {"at": self.watermarks[partition].isoformat()}


clocks = PartitionClocks()


def _rules() -> order_flow.OrderRules:
    return order_flow.OrderRules(tracker, escalation_policy, registry.offices)


def _load(order_id: str) -> order_flow.OrderRecord | None:
    stored = orders_table.get(order_id)
    return None if stored is None else order_flow.record_of(stored)


def _store(order_id: str, partition: int, record: order_flow.OrderRecord) -> None:
    next_check_at = record.next_check_at
    forget_at = record.forget_at(CLOSED_ORDER_RETENTION)
    orders_table[order_id] = order_flow.table_value(record, partition, CLOSED_ORDER_RETENTION)
    clocks.due[partition].schedule(order_id, next_check_at)
    clocks.forget[partition].schedule(order_id, forget_at)
    waiting = clocks.waiting[partition]
    if record.link_wait_since is not None:
        waiting[order_id] = record.link_wait_since
    elif waiting.pop(order_id, None) is None:
        return
    metrics.ORDERS_WAITING_FOR_LINK.set(sum(len(orders) for orders in clocks.waiting.values()))


async def _publish(step: order_flow.OrderStep) -> None:
    for event in step.deadline_events:
        await deadlines_topic.send(key=event["order_id"].encode(), value=codec.encode(event))
        metrics.MESSAGES_PRODUCED.labels(topic=topics.DEADLINES.name).inc()
        metrics.DEADLINE_EVENTS.labels(type=event["type"], target=event["target"], level=event.get("office_level") or "unknown").inc()
    for proposal, merge_at in zip(step.proposals, step.proposal_merge_at, strict=True):
        item = merge_item(merge_at.timestamp(), proposal.key, proposal.to_dict())
        await escalation_proposals_topic.send(key=proposal.to_office_id.encode(), value=item)
    for damped in step.damped:
        metrics.ESCALATIONS_DAMPED.labels(reason=damped.reason, damping=damped.damping).inc()
    for fact, merge_at, key in zip(step.facts, step.fact_merge_at, step.fact_keys, strict=True):
        await office_facts_topic.send(key=fact.office_id.encode(), value=merge_item(merge_at, key, fact.__dict__))
    for held, reason, detail in step.rejected:
        topic, partition, offset = held.position or (topics.SCREENED.name, -1, -1)
        position = SourcePosition(topic, partition, offset, held.event["order_id"].encode())
        await send_dead_letter_at(position, codec.encode(held.event), STAGE, Rejected(reason, detail, held.event.get("caused_by")))


def _forget_finished(partition: int, watermark: datetime) -> None:
    for order_id in clocks.forget[partition].pop_due(watermark):
        orders_table.pop(order_id, None)
        clocks.due[partition].schedule(order_id, None)
        metrics.ORDERS_FORGOTTEN.inc()


async def _check_due(partition: int, watermark: datetime) -> None:
    """Warnings and breaches for every order of the partition whose check instant passed;
    finished orders past their retention leave the table."""
    _forget_finished(partition, watermark)
    for order_id in clocks.due[partition].pop_due(watermark):
        record = _load(order_id)
        if record is None:
            continue
        step = order_flow.on_watermark(record, watermark, _rules())
        await _publish(step)
        _store(order_id, partition, step.record)


async def _advance_watermark(partition: int, instant: datetime) -> None:
    """Event time moved on: check the orders that fell due, then store the watermark, so
    a crash before their checks were stored repeats them."""
    if clocks.advance(partition, instant):
        await _check_due(partition, instant)
        clocks.store_watermark(partition)


async def _on_screened(message) -> Rejected | None:
    event = codec.decode(message.value)
    order_id = event["order_id"]
    occurred_at = parse_rfc3339(event["occurred_at"])
    watermark = clocks.watermarks.get(message.partition)
    record = _load(order_id)
    awaits_link = event["type"] == "appeal.received" and dedupe_settings.links(event["verdict"]["status"])
    position = (message.topic, message.partition, message.offset)
    try:
        step = order_flow.on_screened_event(record, event, watermark, _rules(), awaits_link, position)
    except CalendarRangeError as error:
        return Rejected("beyond_calendar", str(error), event.get("caused_by"))
    if step.duplicate:
        metrics.DUPLICATE_EVENTS.labels(stage=STAGE).inc()
    else:
        await _publish(step)
        _store(order_id, message.partition, step.record)
        metrics.observe_event_time(STAGE, occurred_at.timestamp())
    # Also for an event read again after a crash: the checks it led to may not have been
    # stored, and must run at the watermark they ran at the first time.
    await _advance_watermark(message.partition, occurred_at)
    return None


async def _on_case_link(message) -> None:
    link = codec.decode(message.value)
    record = _load(link["order_id"])
    step = order_flow.on_case_link(record, link["order_id"], link, _rules(), clocks.watermarks.get(message.partition))
    if step.duplicate:
        metrics.DUPLICATE_EVENTS.labels(stage=STAGE).inc()
        return
    await _publish(step)
    _store(link["order_id"], message.partition, step.record)


async def _on_tick(message) -> None:
    """Live mode (hotline.stream.idle_ticks) and the end of a replay: event time moves on."""
    tick = codec.decode(message.value)
    await _advance_watermark(message.partition, datetime.fromtimestamp(tick["now_seconds"], tz=timezone.utc))


@app.agent(raw_topics(topics.SCREENED.name, topics.CASES.name, clock_ticks_topic.get_topic_name()), name="orders")
async def track_orders(stream):
    await registry.loaded.wait()
    async for event in stream.events():
        message = event.message
        metrics.MESSAGES_CONSUMED.labels(topic=message.topic).inc()
        if clocks.stale:
            clocks.rebuild()
        try:
            if message.topic == topics.SCREENED.name:
                rejected = await _on_screened(message)
            elif message.topic == topics.CASES.name:
                rejected = await _on_case_link(message)
            else:
                rejected = await _on_tick(message)
        except Exception as error:  # a bug must not stop the worker: dead-letter and go on
            log.exception("orders stage failed on %s/%s/%s", message.topic, message.partition, message.offset)
            rejected = Rejected("internal_error", f"{type(error).__name__}: {error}")
        if rejected is not None:
            await send_dead_letter(message, STAGE, rejected)
        else:
            metrics.MESSAGES_PROCESSED.labels(stage=STAGE).inc()
        clocks.promise(message.partition)
        await rates.forward(message, orders_table)  # the live rates stage reads the order as stored here


@app.on_partitions_assigned.connect
async def rebuild_clocks_after_rebalance(sender, assigned, **kwargs) -> None:
    clocks.stale = True
