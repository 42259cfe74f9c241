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

from hotline.contract import codec, topics
from hotline.core import pressure
from hotline.core.screening import Rejected
from hotline.core.stages import pressure as pressure_stage
from hotline.core.stages.state import ALERTS, PRESSURE, Failed, StateView
from hotline.stream import bootstrap, clocks, metrics, pressure_metrics
from hotline.stream.app import alerts_topic, app, json_table, office_facts_topic, pressure_topic
from hotline.stream.deadletters import send_dead_letter
from hotline.stream.registry import registry
from hotline.stream.stage_io import send, store

STAGE = "pressure"
log = logging.getLogger(__name__)

pressure_settings = bootstrap.rules().pressure
alert_settings = bootstrap.rules().alerts
office_table = json_table(
    "office-pressure",
    "Per office: rolling pressure buckets, alert book, last snapshot hour, last fact counted; "
    "merge|...: office facts held for event-time order, and the upstream clocks",
    flush_rank=clocks.merge_flush_rank,
)
merges = clocks.MergeTables(STAGE, ("orders", "escalate"), office_table)


def office_items():
    """(office_id, stored value) of every office in the table (the merge's keys left out)."""
    return ((key, value) for key, value in office_table.items() if not merges.owns(key))


def office_stored(office_id: str) -> dict | None:
    return None if merges.owns(office_id) else office_table.get(office_id)


def _office_info(office_id: str) -> pressure.OfficeInfo | None:
    record = registry.get(office_id)
    return pressure.OfficeInfo.from_registry(record) if record is not None else None


class OfficeBook:
    """The pressure handlers of this worker's partitions, rebuilt from the table."""

    def __init__(self) -> None:
        self.handlers: dict[int, pressure_stage.PressurePartition] = {}
        self.stale = True

    def rebuild(self) -> None:
        self.handlers = pressure_stage.PressurePartition.from_stored(pressure_settings, alert_settings, _office_info, office_items())
        self.stale = False

    def handler(self, partition: int) -> pressure_stage.PressurePartition:
        if partition not in self.handlers:
            self.handlers[partition] = pressure_stage.PressurePartition(pressure_settings, alert_settings, _office_info, partition)
        return self.handlers[partition]

    def forget_partitions(self, partitions: set[int]) -> None:
        for partition in partitions:
            handler = self.handlers.pop(partition, None)
            for office_id in handler.office_ids if handler is not None else ():
                pressure_metrics.release_office(office_id)


book = OfficeBook()
SENT_TO = {PRESSURE: pressure_topic, ALERTS: alerts_topic}
PRODUCED_TOPIC = {PRESSURE: topics.PRESSURE.name, ALERTS: topics.ALERTS.name}


def current_snapshot(office_id: str) -> dict | None:
    """The office's pressure as of its newest event time (for the JSON views)."""
    stored = office_stored(office_id)
    if stored is None:
        return None
    handler = book.handlers.get(stored.get("partition"))
    office = handler.offices.get(office_id) if handler is not None else None
    state = (office or pressure_stage.Office.from_stored(stored)).state
    if state.newest_event_at_seconds is None:
        return None
    return pressure.snapshot(state, _office_info(office_id), state.newest_event_at_seconds, pressure_settings)


async def _apply(step: pressure_stage.CountStep) -> None:
    """Send a step's snapshots and alert changes, then store the offices it changed."""
    for sent in step.sent:
        await send(SENT_TO[sent.topic], sent.key.encode(), codec.encode(sent.value))
        metrics.produced(topic=PRODUCED_TOPIC[sent.topic]).inc()
    for snapshot in step.snapshots:
        pressure_metrics.observe_snapshot(snapshot.value)
        pressure_metrics.observe_alerts(snapshot.alerts)
    store(office_table, step.written)
    if step.duplicate:
        metrics.DUPLICATE_EVENTS.labels(stage=STAGE).inc()  # released again after a crash
    else:
        metrics.observe_event_time(STAGE, step.occurred_at_seconds)


@app.agent(office_facts_topic, name="pressure")
async def track_pressure(stream):
    await registry.loaded.wait()
    # Every office's series exist at 0 from the moment the registry names it.
    registry.on_office(lambda record: pressure_metrics.initialise_offices([pressure.OfficeInfo.from_registry(record)]))
    async for event in stream.events():
        message = event.message
        metrics.consumed(topic=message.topic).inc()
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
        for step in book.handler(message.partition).handle(released, StateView(office_stored)):
            if isinstance(step, Failed):
                log.error("pressure failed on a fact released by %s/%s/%s", message.topic, message.partition, message.offset, exc_info=step.error)
                rejected = Rejected("internal_error", f"{type(step.error).__name__}: {step.error}")
                await send_dead_letter(message, STAGE, rejected, original=codec.encode(step.item.payload))
                continue
            await _apply(step)
        merges.handled(message.partition, released)
        metrics.processed(stage=STAGE).inc()


@app.on_partitions_revoked.connect
async def forget_revoked_offices(sender, revoked, **kwargs) -> None:
    book.forget_partitions({tp.partition for tp in revoked if tp.topic == office_facts_topic.get_topic_name()})
    merges.stale = True


@app.on_partitions_assigned.connect
async def rebuild_office_book(sender, assigned, **kwargs) -> None:
    book.stale = True
