"""The pressure handler: duplicate facts, hourly reporting and what it stores."""

from __future__ import annotations

from hotline.core.ordering import MergeItem
from hotline.core.pressure import HOUR_SECONDS
from hotline.core.stages.pressure import PressurePartition
from hotline.core.stages.state import PRESSURE, StateView
from hotline.rules import load_alert_settings, load_pressure_settings

T0 = 1767574800.0  # 2026-01-05T01:00:00Z, the start of an hour
PRESSURE_SETTINGS = load_pressure_settings()
ALERT_SETTINGS = load_alert_settings()


def fact(office_id: str, at_seconds: float, key: str) -> MergeItem:
    return MergeItem(at_seconds, key, {"office_id": office_id, "kind": "received", "occurred_at_seconds": at_seconds})


def handler(partition: int = 0) -> PressurePartition:
    return PressurePartition(PRESSURE_SETTINGS, ALERT_SETTINGS, lambda office_id: None, partition)


def count(partition: PressurePartition, items: list[MergeItem], table: dict) -> list:
    steps = partition.handle(items, StateView(table.get))
    for step in steps:
        table.update((write.key, write.value) for write in step.written)
    return steps


def test_a_fact_released_again_is_not_counted_twice():
    # given a fact counted and stored
    table: dict = {}
    count(handler(), [fact("o-a", T0, "f-1")], table)
    # when it is released again to a partition rebuilt from the table after a crash
    rebuilt = PressurePartition.from_stored(PRESSURE_SETTINGS, ALERT_SETTINGS, lambda office_id: None, table.items())[0]
    [again] = count(rebuilt, [fact("o-a", T0, "f-1")], table)
    # then it changes nothing; the next fact counts
    assert (again.duplicate, again.sent, again.written) == (True, [], [])
    [later] = count(rebuilt, [fact("o-a", T0 + 1, "f-2")], table)
    assert later.duplicate is False
    assert table["o-a"]["counted_through"] == (T0 + 1, "f-2")


def test_every_office_of_the_partition_reports_when_event_time_enters_an_hour():
    # given two offices, each with a fact in the first hour
    partition = handler(4)
    table: dict = {}
    first_a, first_b = count(partition, [fact("o-a", T0, "f-1"), fact("o-b", T0 + 60, "f-2")], table)
    # when a fact of office o-b starts the next hour
    [next_hour] = count(partition, [fact("o-b", T0 + HOUR_SECONDS, "f-3")], table)
    # then the first fact reported its office (the partition entered the hour); o-b's
    # own first fact reported o-b (its own hour had no snapshot yet); the next hour reports both
    assert [(sent.topic, sent.key) for sent in first_a.sent] == [(PRESSURE, "o-a")]
    assert [(sent.topic, sent.key) for sent in first_b.sent] == [(PRESSURE, "o-b")]
    assert [(sent.topic, sent.key) for sent in next_hour.sent if sent.topic == PRESSURE] == [(PRESSURE, "o-a"), (PRESSURE, "o-b")]
    assert [snapshot.value["office_id"] for snapshot in next_hour.snapshots] == ["o-a", "o-b"]
    # and the offices are stored after the snapshots, the fact's own office last
    assert [write.key for write in next_hour.written] == ["o-a", "o-b"]
    assert (table["o-a"]["snapshot_hour"], table["o-b"]["snapshot_hour"], table["o-b"]["partition"]) == (T0 + HOUR_SECONDS, T0 + HOUR_SECONDS, 4)


def test_a_later_fact_in_the_same_hour_sends_nothing():
    partition = handler()
    table: dict = {}
    _, same_hour = count(partition, [fact("o-a", T0, "f-1"), fact("o-a", T0 + 120, "f-2")], table)
    assert (same_hour.sent, [write.key for write in same_hour.written]) == ([], ["o-a"])
