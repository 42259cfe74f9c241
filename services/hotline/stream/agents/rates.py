"""Rates agent: what the orders stage tells of each order -> the official and adjusted
assessment rates, scores and ranks per office and day / week / month on
hotline.office-rates.v1 (compacted, key office|period), and office gauges of the
current periods.

`forward` runs inside the orders agent after each message it handled: it reads the
order as the orders stage stored it and sends the order's contribution when it changed
(`ForwardFilter`; and, for a case link, its case; for a clock tick, the clock) to an
internal topic under one key, since ranks compare every office of a level. A message
the orders agent reads again after a crash is forwarded again (the filter starts empty),
so a contribution lost with the crash comes back. After a replay's end the changes it
released go out together, every `SETTLED_FLUSH_SECONDS`. The rules are in hotline.core.stages.rates; this
module decodes, calls it, sends, stores and sets gauges.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any, Mapping

from hotline.contract import codec, topics
from hotline.core import order_flow
from hotline.core.assessment import contribution_of
from hotline.core.screening import Rejected
from hotline.core.stages import rates as rates_stage
from hotline.stream import bootstrap, metrics
from hotline.stream.app import app, clock_ticks_topic, internal_topic, json_table, raw_topic, settings
from hotline.stream.deadletters import send_dead_letter
from hotline.stream.registry import registry
from hotline.stream.stage_io import send

STAGE = "rates"
log = logging.getLogger(__name__)

assessment_settings = bootstrap.rules().assessment
deadline_policy = bootstrap.rules().deadlines
order_rates_topic = internal_topic("order-rates")  # key: RATES_KEY
office_rates_topic = raw_topic(topics.OFFICE_RATES)
rates_table = json_table("order-rates", "Per order: its contribution to the assessment and its case")
# Ranks compare every office of a level: every order goes to one partition.
RATES_KEY = b"city"
SETTLED_FLUSH_SECONDS = 0.5
forward_filter = rates_stage.ForwardFilter()


async def forward(message, value: Mapping[str, Any], orders_table, stored: Mapping[str, order_flow.OrderRecord]) -> None:
    """Tell the rates stage what the orders stage's message (decoded: `value`) changed.
    `stored`: the records the message's step stored (the table is read for an order it
    did not store). Never raises: the orders stage must go on whatever happens here."""
    try:
        if message.topic == clock_ticks_topic.get_topic_name():
            now = datetime.fromtimestamp(value["now_seconds"], tz=timezone.utc)
            # A replay ends with a tick: everything must go out. Live ticks come every minute.
            clock = rates_stage.clock_message(now, every_change=settings.time_mode != "live")
            await send(order_rates_topic, RATES_KEY, codec.encode(clock))
            return
        order_id = value["order_id"]
        if message.topic == topics.CASES.name:
            case_message = rates_stage.case_message(order_id, value["case_id"])
            await send(order_rates_topic, RATES_KEY, codec.encode(case_message))
        record = stored.get(order_id) or _stored_record(orders_table, order_id)
        if record is None:
            return
        # The deadline stage's clocks of the order, where it kept them, are not built again.
        known_clocks = (record.deadlines.clocks or ()) if record.deadlines is not None else ()
        contribution = contribution_of(record.order, deadline_policy, assessment_settings, known_clocks)
        if not forward_filter.should_forward(contribution):
            return
        await send(order_rates_topic, RATES_KEY, codec.encode(rates_stage.order_message(contribution)))
    except Exception:  # the orders stage dead-letters what it could not read; here it is only skipped
        log.exception("rates: could not forward %s/%s/%s", message.topic, message.partition, message.offset)


def _stored_record(orders_table, order_id: str) -> order_flow.OrderRecord | None:
    value = orders_table.get(order_id)
    return None if value is None else order_flow.record_of(value)


class GaugeBook:
    """The office gauges of the current day, week and month: a period the clock leaves
    takes its series with it."""

    def __init__(self) -> None:
        self.current: dict[str, str] = {}
        self.labels: dict[str, set[tuple[str, str]]] = {}  # kind -> {(office, level)}

    def observe(self, clock: datetime | None, sent: list[dict]) -> None:
        if clock is None:
            return
        current = rates_stage.current_periods(clock)
        for kind, label in current.items():
            if self.current.get(kind) not in (None, label):
                self._remove(kind)
        self.current = current
        for event in sent:
            period = event["period"]
            if current.get(period["kind"]) == period["label"]:
                self._set(period["kind"], event)

    def _set(self, kind: str, event: dict) -> None:
        office, level = event["office_id"], event["level"] or "unknown"
        self.labels.setdefault(kind, set()).add((office, level))
        for view in ("official", "adjusted"):
            figures = event[view]
            for rate in ("response", "resolution", "satisfaction"):
                _set_or_remove(metrics.OFFICE_ASSESSMENT_RATE, figures[f"{rate}_ratio"], office, level, kind, view, rate)
            _set_or_remove(metrics.OFFICE_ASSESSMENT_SCORE, figures["score"], office, level, kind, view)
            _set_or_remove(metrics.OFFICE_ASSESSMENT_RANK, figures["rank"], office, level, kind, view)
        _set_or_remove(metrics.OFFICE_ASSESSMENT_RANK_SHIFT, event["rank_shift"], office, level, kind)

    def forget(self) -> None:
        """Another worker now holds the stage: its gauges are the current ones."""
        for kind in list(self.labels):
            self._remove(kind)
        self.current = {}

    def _remove(self, kind: str) -> None:
        for office, level in self.labels.pop(kind, set()):
            for view in ("official", "adjusted"):
                for rate in ("response", "resolution", "satisfaction"):
                    _remove(metrics.OFFICE_ASSESSMENT_RATE, office, level, kind, view, rate)
                _remove(metrics.OFFICE_ASSESSMENT_SCORE, office, level, kind, view)
                _remove(metrics.OFFICE_ASSESSMENT_RANK, office, level, kind, view)
            _remove(metrics.OFFICE_ASSESSMENT_RANK_SHIFT, office, level, kind)


def _set_or_remove(gauge, value, *labels: str) -> None:
    if value is None:
        _remove(gauge, *labels)
    else:
        gauge.labels(*labels).set(value)


def _remove(gauge, *labels: str) -> None:
    try:
        gauge.remove(*labels)
    except KeyError:
        pass


class Book:
    """The stage's state of this worker, rebuilt from the table after a rebalance."""

    def __init__(self) -> None:
        self.state = rates_stage.RatesBook(assessment_settings)
        self.stale = True

    def rebuild(self) -> None:
        self.state = rates_stage.RatesBook.from_stored(assessment_settings, rates_table.items())
        self.stale = False

    def forget(self) -> None:
        """Another worker now holds the stage."""
        self.state = rates_stage.RatesBook(assessment_settings)
        self.stale = True


book = Book()
gauges = GaugeBook()


async def _send_rows(step: rates_stage.RatesStep) -> None:
    for key, value in step.sent:
        await send(office_rates_topic, key.encode(), codec.encode(value))
        metrics.produced(topic=topics.OFFICE_RATES.name).inc()
    gauges.observe(step.clock, [value for _, value in step.sent])


@app.agent(order_rates_topic, name="rates")
async def track_rates(stream):
    await registry.loaded.wait()
    async for event in stream.events():
        message = event.message
        metrics.consumed(topic=message.topic).inc()
        if book.stale:
            book.rebuild()
        try:
            step = book.state.handle(codec.decode(message.value), registry.levels())
        except (ValueError, TypeError, KeyError) as error:
            await send_dead_letter(message, STAGE, Rejected("invalid_value", f"not a rates message: {error}"))
            continue
        await _send_rows(step)
        for order_id, value in step.written:
            if value is None:
                rates_table.pop(order_id, None)
            else:
                rates_table[order_id] = value
        if step.clock is not None:
            metrics.observe_event_time(STAGE, step.clock.timestamp())
        metrics.processed(stage=STAGE).inc()


@app.timer(interval=SETTLED_FLUSH_SECONDS)
async def flush_settled_rates() -> None:
    """Sends nothing on a worker that does not hold the stage: its book is empty."""
    if not book.stale:
        await _send_rows(book.state.flush_settled(registry.levels()))


@app.on_partitions_revoked.connect
async def forget_rates_gauges(sender, revoked, **kwargs) -> None:
    if any(tp.topic == order_rates_topic.get_topic_name() for tp in revoked):
        gauges.forget()
        book.forget()


@app.on_partitions_assigned.connect
async def rebuild_rates_book(sender, assigned, **kwargs) -> None:
    book.stale = True
    forward_filter.forget()
