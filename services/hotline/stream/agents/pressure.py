"""Pressure agent: office facts -> per-office rolling tables, hourly snapshots on
hotline.pressure.v1, alert state changes on hotline.alerts.v1, office gauges.

Facts arrive keyed by office on an internal topic, so an office's table value lives in
one partition. They come from every orders and escalate partition at once, so each
partition counts them in event-time order: an ordered merge (hotline.stream.clocks)
holds them until every upstream partition's clock has passed them, and snapshots and
alerts are then the same at any replay speed. A snapshot is taken for every office of a partition each time the
partition's event time enters a new hour (and for the office a fact belongs to, when its
own hour changes); its id depends on office and hour only, so replays repeat it exactly.

Office states and the merge's held facts share one table, and a fact's step stores the
offices after sending their snapshots (hotline.stream.write_order). Each office records
the last fact it counted (merge time and key, in the order the merge releases them), so
a fact released again after a crash is not counted twice; which offices live in which
partition, and the hour each partition last reported, are rebuilt from the table.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass

from hotline.contract import codec, topics
from hotline.core import alerts as alert_rules
from hotline.core import pressure
from hotline.core.ordering import MergeItem
from hotline.core.screening import Rejected
from hotline.stream import bootstrap, clocks, metrics, pressure_metrics
from hotline.stream.app import alerts_topic, app, json_table, office_facts_topic, pressure_topic
from hotline.stream.deadletters import send_dead_letter
from hotline.stream.registry import registry

STAGE = "pressure"
log = logging.getLogger(__name__)

pressure_settings = bootstrap.rules().pressure
alert_settings = bootstrap.rules().alerts
office_table = json_table(
    "office-pressure",
    "Per office: rolling pressure buckets, alert book, last snapshot hour, last fact counted; "
    "merge|...: office facts held for event-time order, and the upstream clocks",
)
merges = clocks.MergeTables(STAGE, ("orders", "escalate"), office_table)


def office_items():
    """(office_id, stored value) of every office in the table (the merge's keys left out)."""
    return ((key, value) for key, value in office_table.items() if not merges.owns(key))


def office_stored(office_id: str) -> dict | None:
    return None if merges.owns(office_id) else office_table.get(office_id)


@dataclass
class Office:
    state: pressure.OfficePressureState
    alerts: alert_rules.AlertBook
    snapshot_hour: int = -1
    counted_through: tuple[float, str] | None = None  # the last fact counted: (merge time, key)


class OfficeBook:
    """Decoded table values of the offices this worker owns, so a busy office is not
    decoded from JSON for every fact; and per partition its offices and the hour it last
    reported (every office of a partition reports when the partition enters an hour)."""

    def __init__(self) -> None:
        self.offices: dict[str, Office] = {}
        self.offices_by_partition: dict[int, set[str]] = defaultdict(set)
        self.partition_hour: dict[int, int] = {}
        self.stale = True

    def rebuild(self) -> None:
        self.offices.clear()
        self.offices_by_partition.clear()
        self.partition_hour.clear()
        for office_id, stored in office_items():
            partition = stored.get("partition")
            if partition is not None:
                self.offices_by_partition[partition].add(office_id)
                self.partition_hour[partition] = max(self.partition_hour.get(partition, -1), stored["snapshot_hour"])
        self.stale = False

    def load(self, office_id: str) -> Office:
        if office_id not in self.offices:
            stored = office_stored(office_id)
            if stored is None:
                self.offices[office_id] = Office(pressure.OfficePressureState(office_id), alert_rules.empty_book(office_id))
            else:
                counted = stored.get("counted_through")
                self.offices[office_id] = Office(
                    pressure.OfficePressureState.from_dict(stored["pressure"]),
                    alert_rules.AlertBook.from_dict(stored["alerts"]),
                    stored["snapshot_hour"],
                    None if counted is None else (float(counted[0]), str(counted[1])),
                )
        return self.offices[office_id]

    def store(self, office_id: str, partition: int) -> None:
        office = self.offices[office_id]
        office_table[office_id] = {
            "pressure": office.state.to_dict(),
            "alerts": office.alerts.to_dict(),
            "snapshot_hour": office.snapshot_hour,
            "counted_through": office.counted_through,
            "partition": partition,
        }

    def forget_partitions(self, partitions: set[int]) -> None:
        for partition in partitions:
            for office_id in self.offices_by_partition.pop(partition, set()):
                self.offices.pop(office_id, None)
                pressure_metrics.release_office(office_id)
            self.partition_hour.pop(partition, None)


book = OfficeBook()


def _office_info(office_id: str) -> pressure.OfficeInfo | None:
    record = registry.get(office_id)
    return pressure.OfficeInfo.from_registry(record) if record is not None else None


async def _take_snapshot(office_id: str, now_seconds: float) -> None:
    office = book.load(office_id)
    snapshot = pressure.snapshot(office.state, _office_info(office_id), now_seconds, pressure_settings)
    office.alerts, changes = alert_rules.evaluate_office(office.alerts, snapshot, alert_settings)
    office.snapshot_hour = pressure.hour_started_at(now_seconds)
    await pressure_topic.send(key=office_id.encode(), value=codec.encode(snapshot))
    metrics.MESSAGES_PRODUCED.labels(topic=topics.PRESSURE.name).inc()
    for change in changes:
        await alerts_topic.send(key=f"{change['alert']}/{office_id}".encode(), value=codec.encode(change))
        metrics.MESSAGES_PRODUCED.labels(topic=topics.ALERTS.name).inc()
    pressure_metrics.observe_snapshot(snapshot)
    pressure_metrics.observe_alerts(office.alerts)


def current_snapshot(office_id: str) -> dict | None:
    """The office's pressure as of its newest event time (for the JSON views)."""
    if office_stored(office_id) is None:
        return None
    state = book.load(office_id).state
    if state.newest_event_at_seconds is None:
        return None
    return pressure.snapshot(state, _office_info(office_id), state.newest_event_at_seconds, pressure_settings)


async def _count(partition: int, item: MergeItem) -> None:
    fact = pressure.OfficeFact(**item.payload)
    office = book.load(fact.office_id)
    position = (item.at_seconds, item.key)
    if office.counted_through is not None and position <= office.counted_through:
        metrics.DUPLICATE_EVENTS.labels(stage=STAGE).inc()  # released again after a crash
        return
    book.offices_by_partition[partition].add(fact.office_id)
    office.state = pressure.record(office.state, fact)
    office.counted_through = position
    reported = {fact.office_id}
    hour = pressure.hour_started_at(fact.occurred_at_seconds)
    if hour > book.partition_hour.get(partition, -1):
        # Event time entered a new hour: every office of the partition reports.
        book.partition_hour[partition] = hour
        reported |= book.offices_by_partition[partition]
        for office_id in sorted(book.offices_by_partition[partition]):
            await _take_snapshot(office_id, fact.occurred_at_seconds)
    elif hour > office.snapshot_hour:
        await _take_snapshot(fact.office_id, fact.occurred_at_seconds)
    # Stored once the snapshots are sent, the fact's own office last: in the changelog,
    # an office that counted the fact means every report of its step was stored too.
    for office_id in sorted(reported - {fact.office_id}):
        book.store(office_id, partition)
    book.store(fact.office_id, partition)
    metrics.observe_event_time(STAGE, fact.occurred_at_seconds)


@app.agent(office_facts_topic, name="pressure")
async def track_pressure(stream):
    await registry.loaded.wait()
    # Every office's series exist at 0 from the moment the registry names it.
    registry.on_office(lambda record: pressure_metrics.initialise_offices([pressure.OfficeInfo.from_registry(record)]))
    async for event in stream.events():
        message = event.message
        metrics.MESSAGES_CONSUMED.labels(topic=message.topic).inc()
        if book.stale:
            book.rebuild()
        try:
            value = codec.decode(message.value)
            if not clocks.is_promise(value):
                pressure.OfficeFact(**value["payload"])
            released = merges.accept(message.partition, value)
        except (ValueError, TypeError, KeyError) as error:
            await send_dead_letter(message, STAGE, Rejected("invalid_value", f"not an office fact: {error}"))
            continue
        for item in released:
            await _count(message.partition, item)
        merges.handled(message.partition, released)
        metrics.MESSAGES_PROCESSED.labels(stage=STAGE).inc()


@app.on_partitions_revoked.connect
async def forget_revoked_offices(sender, revoked, **kwargs) -> None:
    book.forget_partitions({tp.partition for tp in revoked if tp.topic == office_facts_topic.get_topic_name()})
    merges.stale = True


@app.on_partitions_assigned.connect
async def rebuild_office_book(sender, assigned, **kwargs) -> None:
    book.stale = True
