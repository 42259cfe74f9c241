"""The pressure stage: office facts of one office partition, in event-time order ->
hourly pressure snapshots per office, the alert state changes they lead to, and the
offices' rolling tables.

State (one partition's share of the office-pressure table): "<office id>" →
{"pressure", "alerts", "snapshot_hour", "counted_through", "partition"}: the office's
rolling buckets, its alert book, the hour of its last snapshot and the last fact it
counted (merge time and key).

Rules kept here:
- Duplicates: facts are released in (merge time, key) order, so a fact at or before the
  office's `counted_through` was counted already (released again after a crash) and
  changes nothing.
- Hourly reporting: when the partition's event time enters a new hour, every office of
  the partition is snapshotted; otherwise the fact's own office is, when its hour is
  later than its last snapshot's. A snapshot's id depends on office and hour only, so
  replays repeat it exactly. Each snapshot advances the office's alert book.
- The offices a step reported are stored after its snapshots are sent, the fact's own
  office last: in the changelog, an office that counted the fact means every report of
  its step was stored too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from hotline.core import alerts as alert_rules
from hotline.core import pressure
from hotline.core.ordering import MergeItem
from hotline.core.stages.state import ALERTS, PRESSURE, Failed, Sent, StateView, Step, handle_each


@dataclass
class Office:
    state: pressure.OfficePressureState
    alerts: alert_rules.AlertBook
    snapshot_hour: int = -1
    counted_through: tuple[float, str] | None = None  # the last fact counted: (merge time, key)

    @classmethod
    def new(cls, office_id: str) -> "Office":
        return cls(pressure.OfficePressureState(office_id), alert_rules.empty_book(office_id))

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any]) -> "Office":
        counted = stored.get("counted_through")
        return cls(
            pressure.OfficePressureState.from_dict(stored["pressure"]),
            alert_rules.AlertBook.from_dict(stored["alerts"]),
            stored["snapshot_hour"],
            None if counted is None else (float(counted[0]), str(counted[1])),
        )

    def to_stored(self, partition: int) -> dict[str, Any]:
        return {
            "pressure": self.state.to_dict(),
            "alerts": self.alerts.to_dict(),
            "snapshot_hour": self.snapshot_hour,
            "counted_through": self.counted_through,
            "partition": partition,
        }


@dataclass
class Snapshot:
    """A snapshot sent, with the alert book it left (for the office gauges)."""

    value: dict[str, Any]
    alerts: alert_rules.AlertBook


@dataclass
class CountStep(Step):
    duplicate: bool = False
    occurred_at_seconds: float | None = None
    snapshots: list[Snapshot] = field(default_factory=list)


class PressurePartition:
    """One partition's offices, decoded once (a busy office is not decoded from JSON for
    every fact), and the hour the partition last reported."""

    def __init__(
        self,
        pressure_settings: pressure.PressureSettings,
        alert_settings: alert_rules.AlertSettings,
        office_info: Callable[[str], pressure.OfficeInfo | None],
        partition: int,
        office_ids: Iterable[str] = (),
        hour: int = -1,
    ):
        self.pressure_settings = pressure_settings
        self.alert_settings = alert_settings
        self.office_info = office_info
        self.partition = partition
        self.office_ids: set[str] = set(office_ids)
        self.hour = hour
        self.offices: dict[str, Office] = {}

    @classmethod
    def from_stored(
        cls,
        pressure_settings: pressure.PressureSettings,
        alert_settings: alert_rules.AlertSettings,
        office_info: Callable[[str], pressure.OfficeInfo | None],
        stored: Iterable[tuple[str, Mapping[str, Any]]],
    ) -> dict[int, "PressurePartition"]:
        """Every partition's offices and last reported hour from the table's (office id, value) pairs."""
        offices: dict[int, set[str]] = {}
        hours: dict[int, int] = {}
        for office_id, value in stored:
            partition = value.get("partition")
            if partition is not None:
                offices.setdefault(partition, set()).add(office_id)
                hours[partition] = max(hours.get(partition, -1), value["snapshot_hour"])
        return {p: cls(pressure_settings, alert_settings, office_info, p, ids, hours[p]) for p, ids in offices.items()}

    def load(self, view: StateView, office_id: str) -> Office:
        if office_id not in self.offices:
            stored = view.get(office_id)
            self.offices[office_id] = Office.new(office_id) if stored is None else Office.from_stored(stored)
        return self.offices[office_id]

    def handle(self, items: Iterable[MergeItem], view: StateView) -> list[CountStep | Failed]:
        """Count each released item (its payload: an office fact)."""
        return handle_each(items, view, self.count)

    def count(self, view: StateView, item: MergeItem) -> CountStep:
        fact = pressure.OfficeFact(**item.payload)
        office = self.load(view, fact.office_id)
        position = (item.at_seconds, item.key)
        if office.counted_through is not None and position <= office.counted_through:
            return CountStep(duplicate=True)
        step = CountStep(occurred_at_seconds=fact.occurred_at_seconds)
        self.office_ids.add(fact.office_id)
        office.state = pressure.record(office.state, fact)
        office.counted_through = position
        reported = {fact.office_id}
        hour = pressure.hour_started_at(fact.occurred_at_seconds)
        if hour > self.hour:
            # Event time entered a new hour: every office of the partition reports.
            self.hour = hour
            reported |= self.office_ids
            for office_id in sorted(self.office_ids):
                self._take_snapshot(view, step, office_id, fact.occurred_at_seconds)
        elif hour > office.snapshot_hour:
            self._take_snapshot(view, step, fact.office_id, fact.occurred_at_seconds)
        for office_id in [*sorted(reported - {fact.office_id}), fact.office_id]:
            view.put(step, office_id, self.offices[office_id].to_stored(self.partition))
        return step

    def _take_snapshot(self, view: StateView, step: CountStep, office_id: str, now_seconds: float) -> None:
        office = self.load(view, office_id)
        snapshot = pressure.snapshot(office.state, self.office_info(office_id), now_seconds, self.pressure_settings)
        office.alerts, changes = alert_rules.evaluate_office(office.alerts, snapshot, self.alert_settings)
        office.snapshot_hour = pressure.hour_started_at(now_seconds)
        step.sent.append(Sent(PRESSURE, office_id, snapshot))
        for change in changes:
            step.sent.append(Sent(ALERTS, f"{change['alert']}/{office_id}", change))
        step.snapshots.append(Snapshot(snapshot, office.alerts))
