"""Orders agent: input events, case links and clock ticks -> screened events (the screen
stage, hotline.stream.agents.screen), order state, deadline events on
hotline.deadlines.v1, escalation proposals for the escalate agent, office facts for the
pressure agent.

The screen stage and the order fold share a key, the order id, so one agent runs both:
an event read from hotline.events.v1 is screened, and the screened event goes on to the
order fold in memory, in the same partition. Its order's state lives in the partition
Kafka's default partitioner gives the order id, as everywhere in the pipeline; an input
event read from another partition (its producer partitioned by something else) goes
there through the app's screened-by-order topic, and every event of an order takes that
same path, so an order's appeal still reaches the fold before its later events.

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

The rules are the orders handler's (hotline.core.stages.orders): which orders wait for a
link, what a watermark advance checks and forgets, what is sent where and what clock is
promised. This agent decodes, calls the handlers, sends, stores and counts.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, Mapping

from hotline.contract import codec, topics
from hotline.core import order_flow
from hotline.core.deadletters import SourcePosition
from hotline.core.deadlines import DeadlineTracker
from hotline.core.screening import Rejected
from hotline.core.stages import orders as orders_stage
from hotline.core.stages.state import OFFICE_FACTS, Failed, StateView
from hotline.stream import bootstrap, metrics
from hotline.stream.agents import rates, screen
from hotline.stream.clocks import ClockPromises, register
from hotline.stream.app import (
    CompactJsonTable,
    app,
    clock_ticks_topic,
    deadlines_topic,
    escalation_proposals_topic,
    office_facts_topic,
    raw_topics,
    screened_by_order_topic,
    settings,
)
from hotline.stream.deadletters import send_dead_letter, send_dead_letter_at
from hotline.stream.partitioner import key_hash
from hotline.stream.registry import registry
from hotline.stream.stage_io import send, store

STAGE = "orders"
log = logging.getLogger(__name__)

tracker = DeadlineTracker(bootstrap.rules().deadlines)
# The registry's office map is kept current in place, so the rules see every update.
order_rules = order_flow.OrderRules(tracker, bootstrap.rules().escalation, registry.offices)
dedupe_settings = bootstrap.rules().dedupe
# Finished orders leave the table after this much event time, so its size follows the
# open orders and the recent past, not the whole history.
CLOSED_ORDER_RETENTION = timedelta(days=settings.closed_order_retention_days)


def watermark_last(key: str, value: Any) -> int:
    """A partition's watermark reaches the changelog after the orders it checked
    (hotline.stream.write_behind): a crash before them repeats the checks."""
    return 1 if key.startswith(orders_stage.WATERMARK_PREFIX) else 0


orders_table = CompactJsonTable(
    "orders",
    "Per order: state fold, deadline clocks, escalations, office marks",
    flush_rank=watermark_last,
)
promises = register(ClockPromises(STAGE, escalation_proposals_topic, office_facts_topic))
SENT_TO = {
    orders_stage.DEADLINES: deadlines_topic,
    orders_stage.ESCALATION_PROPOSALS: escalation_proposals_topic,
    OFFICE_FACTS: office_facts_topic,
}


class OrderPartitions:
    """The orders handlers of this worker's partitions, rebuilt from the table."""

    def __init__(self) -> None:
        self.handlers: dict[int, orders_stage.OrdersPartition] = {}
        self.stale = True
        # Counted when /metrics is read, not on every message.
        metrics.ORDERS_WAITING_FOR_LINK.set_function(self.waiting_orders)

    def rebuild(self) -> None:
        self.handlers = orders_stage.OrdersPartition.from_stored(order_rules, dedupe_settings, CLOSED_ORDER_RETENTION, orders_table.items())
        self.stale = False
        for partition, handler in self.handlers.items():
            if handler.watermark is not None:
                promises.promise(partition, handler.promised_seconds)

    def handler(self, partition: int) -> orders_stage.OrdersPartition:
        if partition not in self.handlers:
            self.handlers[partition] = orders_stage.OrdersPartition(order_rules, dedupe_settings, CLOSED_ORDER_RETENTION, partition)
        return self.handlers[partition]

    def waiting_orders(self) -> int:
        return sum(len(handler.waiting) for handler in self.handlers.values())


partitions = OrderPartitions()


def _input_of(message, value: Mapping[str, Any]) -> orders_stage.OrdersInput:
    if message.topic == screened_by_order_topic.get_topic_name():
        return orders_stage.ScreenedEvent(value, (message.topic, message.partition, message.offset))
    if message.topic == topics.CASES.name:
        return orders_stage.CaseLink(value)
    return orders_stage.Tick(float(value["now_seconds"]))


def order_partition(order_id: str) -> int:
    """The partition of an order's state: Kafka's default partitioner's for its id."""
    return key_hash(order_id.encode()) % settings.partitions


async def _apply(step: orders_stage.OrdersStep) -> None:
    """Send what a step sent and dead-letter the held events it rejected, then store."""
    for sent in step.sent:
        await send(SENT_TO[sent.topic], sent.key.encode(), codec.encode(sent.value))
    for event in step.deadline_events:
        metrics.produced(topic=topics.DEADLINES.name).inc()
        metrics.deadline_events(type=event["type"], target=event["target"], level=event.get("office_level") or "unknown").inc()
    for _, damped in step.damped:
        metrics.ESCALATIONS_DAMPED.labels(reason=damped.reason, damping=damped.damping).inc()
    for held in step.held_rejected:
        topic, partition, offset = held.position or (topics.EVENTS.name, -1, -1)
        position = SourcePosition(topic, partition, offset, held.event["order_id"].encode())
        await send_dead_letter_at(position, codec.encode(held.event), STAGE, held.rejected)
    store(orders_table, step.written)
    metrics.ORDERS_FORGOTTEN.inc(step.forgotten)
    if step.duplicate:
        metrics.DUPLICATE_EVENTS.labels(stage=STAGE).inc()
    if step.applied_at_seconds is not None:
        metrics.observe_event_time(STAGE, step.applied_at_seconds)


ORDERS_INPUT = (topics.EVENTS.name, topics.CASES.name, clock_ticks_topic.get_topic_name(), screened_by_order_topic.get_topic_name())


@app.agent(raw_topics(*ORDERS_INPUT), name="orders")
async def track_orders(stream):
    await registry.loaded.wait()
    async for event in stream.events():
        message = event.message
        if message.topic == topics.EVENTS.name:
            await _screen_and_fold(message)
            continue
        metrics.consumed(topic=message.topic).inc()
        try:
            value = codec.decode(message.value)
            item = _input_of(message, value)
        except (ValueError, TypeError, KeyError) as error:
            log.error("orders stage could not read %s/%s/%s", message.topic, message.partition, message.offset, exc_info=error)
            await send_dead_letter(message, STAGE, Rejected("invalid_value", f"{type(error).__name__}: {error}"))
            continue
        if isinstance(item, orders_stage.Tick):
            await screen.advance(message.partition, item.at_seconds)
        await _fold(message, item, value)


async def _screen_and_fold(message) -> None:
    """An input event: screened, then folded into its order here or where its order lives."""
    screened = await screen.screen_event(message)
    if screened is None:
        return
    if order_partition(screened.key) != message.partition:
        await send(screened_by_order_topic, screened.key.encode(), codec.encode(screened.value))
        metrics.produced(topic=screened_by_order_topic.get_topic_name()).inc()
        return
    await _fold(message, orders_stage.ScreenedEvent(screened.value, (message.topic, message.partition, message.offset)), screened.value)


async def _fold(message, item: orders_stage.OrdersInput, value: Mapping[str, Any]) -> None:
    if partitions.stale:
        partitions.rebuild()
    handler = partitions.handler(message.partition)
    [step] = handler.handle([item], StateView(orders_table.get))
    if isinstance(step, Failed):
        log.error("orders stage failed on %s/%s/%s", message.topic, message.partition, message.offset, exc_info=step.error)
        await send_dead_letter(message, STAGE, Rejected("internal_error", f"{type(step.error).__name__}: {step.error}"))
    elif step.rejected is not None:
        await send_dead_letter(message, STAGE, step.rejected)
    else:
        await _apply(step)
        metrics.processed(stage=STAGE).inc()
    promises.promise(message.partition, handler.promised_seconds)
    # The live rates stage reads the order as stored here.
    await rates.forward(message, value, orders_table, step.records if isinstance(step, orders_stage.OrdersStep) else {})


@app.on_partitions_assigned.connect
async def rebuild_clocks_after_rebalance(sender, assigned, **kwargs) -> None:
    partitions.stale = True
