"""Pressure agent: office facts -> per-office rolling tables, hourly snapshots on
hotline.pressure.v1, alert state changes on hotline.alerts.v1, office gauges.

Facts arrive keyed by office on an internal topic, so an office's table value lives in
one partition. They come from every orders and escalate partition at once, so each
partition counts them in event-time order: an ordered merge (hotline.stream.clocks)
holds them until every upstream partition's clock has passed them, and snapshots and
alerts are then the same at any replay speed. A snapshot is taken for every office of a partition each time the
partition's event time enters a new hour (and for the office a fact belongs to, when its
own hour changes); its id depends on office and hour only, so replays repeat it exactly.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from hotline.contract import codec, topics
from hotline.core import alerts as alert_rules
from hotline.core import pressure
from hotline.core.screening import Rejected
from hotline.stream import clocks, metrics, pressure_metrics
from hotline.stream.app import alerts_topic, app, json_table, office_facts_topic, pressure_topic
from hotline.stream.deadletters import send_dead_letter
from hotline.stream.registry import registry

STAGE = "pressure"
log = logging.getLogger(__name__)

pressure_settings = pressure.load_pressure_settings()
alert_settings = alert_rules.load_alert_settings()
office_table = json_table("office-pressure", "Per office: rolling pressure buckets, alert book, last snapshot hour")
merges = clocks.MergeTables(STAGE, ("orders", "escalate"), json_table("pressure-pending", "Per partition: office facts held for event-time order, and the upstream clocks"))


class OfficeBook:
    """Decoded table values of the offices this worker owns, so a busy office is not
    decoded from JSON for every fact."""

    def __init__(self) -> None:
        self.states: dict[str, tuple[pressure.OfficePressureState, alert_rules.AlertBook, int]] = {}
        self.offices_by_partition: dict[int, set[str]] = defaultdict(set)
        self.partition_hour: dict[int, int] = {}

    def load(self, office_id: str):
        if office_id not in self.states:
            stored = office_table.get(office_id)
            if stored is None:
                self.states[office_id] = (pressure.OfficePressureState(office_id), alert_rules.empty_book(office_id), -1)
            else:
                self.states[office_id] = (
                    pressure.OfficePressureState.from_dict(stored["pressure"]),
                    alert_rules.AlertBook.from_dict(stored["alerts"]),
                    stored["snapshot_hour"],
                )
        return self.states[office_id]

    def store(self, office_id: str, state, book, snapshot_hour: int) -> None:
        self.states[office_id] = (state, book, snapshot_hour)
        office_table[office_id] = {"pressure": state.to_dict(), "alerts": book.to_dict(), "snapshot_hour": snapshot_hour}

    def forget_partitions(self, partitions: set[int]) -> None:
        for partition in partitions:
            for office_id in self.offices_by_partition.pop(partition, set()):
                self.states.pop(office_id, None)
                pressure_metrics.release_office(office_id)
            self.partition_hour.pop(partition, None)


book = OfficeBook()


def _office_info(office_id: str) -> pressure.OfficeInfo | None:
    record = registry.get(office_id)
    return pressure.OfficeInfo.from_registry(record) if record is not None else None


async def _take_snapshot(office_id: str, now_seconds: float) -> None:
    state, alert_book, _ = book.load(office_id)
    snapshot = pressure.snapshot(state, _office_info(office_id), now_seconds, pressure_settings)
    alert_book, changes = alert_rules.evaluate_office(alert_book, snapshot, alert_settings)
    book.store(office_id, state, alert_book, pressure.hour_started_at(now_seconds))
    await pressure_topic.send(key=office_id.encode(), value=codec.encode(snapshot))
    metrics.MESSAGES_PRODUCED.labels(topic=topics.PRESSURE.name).inc()
    for change in changes:
        await alerts_topic.send(key=f"{change['alert']}/{office_id}".encode(), value=codec.encode(change))
        metrics.MESSAGES_PRODUCED.labels(topic=topics.ALERTS.name).inc()
    pressure_metrics.observe_snapshot(snapshot)
    pressure_metrics.observe_alerts(alert_book)


def current_snapshot(office_id: str) -> dict | None:
    """The office's pressure as of its newest event time (for the JSON views)."""
    if office_table.get(office_id) is None:
        return None
    state, _, _ = book.load(office_id)
    if state.newest_event_at_seconds is None:
        return None
    return pressure.snapshot(state, _office_info(office_id), state.newest_event_at_seconds, pressure_settings)


async def _count(partition: int, fact: pressure.OfficeFact) -> None:
    book.offices_by_partition[partition].add(fact.office_id)
    state, alert_book, snapshot_hour = book.load(fact.office_id)
    state = pressure.record(state, fact)
    book.store(fact.office_id, state, alert_book, snapshot_hour)
    hour = pressure.hour_started_at(fact.occurred_at_seconds)
    if hour > book.partition_hour.get(partition, -1):
        # Event time entered a new hour: every office of the partition reports.
        book.partition_hour[partition] = hour
        for office_id in sorted(book.offices_by_partition[partition]):
            await _take_snapshot(office_id, fact.occurred_at_seconds)
    elif hour > snapshot_hour:
        await _take_snapshot(fact.office_id, fact.occurred_at_seconds)
    metrics.observe_event_time(STAGE, fact.occurred_at_seconds)


@app.agent(office_facts_topic, name="pressure")
async def track_pressure(stream):
    await registry.loaded.wait()
    # Every office's series exist at 0 from the moment the registry names it.
    registry.on_office(lambda record: pressure_metrics.initialise_offices([pressure.OfficeInfo.from_registry(record)]))
    async for event in stream.events():
        message = event.message
        metrics.MESSAGES_CONSUMED.labels(topic=message.topic).inc()
        try:
            value = codec.decode(message.value)
            if not clocks.is_promise(value):
                pressure.OfficeFact(**value["payload"])
            released = merges.accept(message.partition, value)
        except (ValueError, TypeError, KeyError) as error:
            await send_dead_letter(message, STAGE, Rejected("invalid_value", f"not an office fact: {error}"))
            continue
        for item in released:
            await _count(message.partition, pressure.OfficeFact(**item.payload))
        metrics.MESSAGES_PROCESSED.labels(stage=STAGE).inc()


@app.on_partitions_revoked.connect
async def forget_revoked_offices(sender, revoked, **kwargs) -> None:
    book.forget_partitions({tp.partition for tp in revoked if tp.topic == office_facts_topic.get_topic_name()})
    merges.stale = True
