"""The pressure alerts of an offline run, scored against the simulator's ground truth.

Consumes hotline.events.v1 messages (bytes, in the order a worker reads them), the
office registry, the deadline, escalation, pressure and alert settings, and the truth
file's records (docs/simulator.md). Produces an `AlertsRun`: the hotline.alerts.v1
events (alert.firing / alert.resolved) in the order the pressure agent would publish
them, the firing intervals per alert and office, what the truth expects and, on
request, the size of the pressure tables after every simulated day.

The chain, as the agents run it:

- screen -> orders -> escalate: `replay_with_facts` is `orders_pipeline.replay_orders`
  with ONE input partition (one event-time watermark, the highest occurred_at read so
  far) that also keeps every `OrderStep.facts` in the order the steps happen, and, after
  each step, an `escalated` fact at the `from_office_id` of every escalation.raised that
  step's proposals caused (what the escalate agent sends to the office facts topic).
- pressure: `PressureReplay` is the pressure agent's loop body with ONE partition of
  the office facts topic: every fact is folded into its office's state; when a fact's
  hour is later than the partition's hour, every office seen so far (sorted by id) is
  snapshotted at the fact's event time; otherwise, when the fact's hour is later than
  the hour of its own office's last snapshot, that office is. Each snapshot advances
  the office's alert book (`alerts.evaluate_office`). With one partition every office
  reports on every new hour of event time, which is what a worker owning all partitions
  of a quiet topic does; with more partitions an office reports on the hours of its own
  partition, so an alert can fire up to an hour later there.

Not in this chain (as in orders_pipeline): the verdict rules and the dedupe stage. Every
appeal is "accepted" and no case is ever linked, so no `repeat` or `flagged` fact is
produced: repeat_ratio and flagged_ratio stay 0, RepeatSurge cannot fire, and the
effective inflow of OfficeOverloaded is the raw inflow, repeats included. Unless the
caller ran them first and hands `replay_with_facts` each appeal's final verdict and
case record (what `hotline report --format html` does): then the orders stage applies
them as the orders agent does and the facts include repeats and flagged appeals.

What the truth expects, per alert (`expected_targets`):

- OfficeOverloaded: the `kind: "overload"` intervals; an interval is detected when the
  alert fires for its office inside it and resolves after it ends. A short interval
  soon after a longer one (the truth re-enters overload for a few hours) shows as
  overlapped by the firing of the longer one, not fired inside.
- PingPongOrders: the offices a truth `ping_pong` order was first dispatched to (whose
  orders bounce; their partners bounce them too, but among many ordinary orders).
- TargetSubstitutionSuspected: the offices that resolved a truth `rush_closure` order.
- RepeatSurge: the offices that received an order of a storm issue, an issue with at
  least a repeat-storm day's repeats (`STORM_MIN_APPEALS_PER_ISSUE`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Mapping

from hotline.contract import codec
from hotline.contract.schemas import event_validator
from hotline.core import alerts as alert_rules
from hotline.core import order_flow, pressure
from hotline.core.deadlines import DueIndex
from hotline.core.screening import Rejected, ScreenSettings, screen
from hotline.core.timeutil import format_utc, parse_rfc3339
from hotline.core.workcalendar import CalendarRangeError
from hotline.evaluation.orders_pipeline import BEYOND_CALENDAR, OfflineEscalate, OrdersRun
from hotline.evaluation.pipeline import EVALUATION_PSEUDONYM_KEY
from hotline.sim import SCENARIOS

# A repeat-storm issue gets at least this many repeats on each of its days; the neighbours
# of an overload surge's issues or an ordinary issue's repeats stay well below it.
STORM_MIN_APPEALS_PER_ISSUE = SCENARIOS["repeat-storm"].storm_min_repeats_per_day
# Simulated days start at local midnight in UTC+08:00 (docs/simulator.md).
SIMULATION_UTC_OFFSET = timedelta(hours=8)


@dataclass
class FactsRun:
    orders: OrdersRun
    facts: list[pressure.OfficeFact] = field(default_factory=list)


def replay_with_facts(
    lines: Iterable[bytes],
    rules: order_flow.OrderRules,
    verdicts: Mapping[str, Mapping[str, Any]] | None = None,
    case_links: Mapping[str, Mapping[str, Any]] | None = None,
) -> FactsRun:
    """screen -> orders -> escalate over one partition, keeping the office facts in order.

    The steps are those of `orders_pipeline.replay_orders(lines, rules, partitions=1)`;
    its deadline and escalation events are reproduced exactly (a unit test holds them
    equal), and it keeps no steps, hence this loop.

    With the verdict rules and dedupe stage run beforehand (`verdicts`: order id -> final
    verdict JSON; `case_links`: order id -> its hotline.cases.v1 record), each appeal
    carries its final verdict and an appeal with a case record waits for it, which the
    record releases at once, as the orders agent does; then `repeat` and `flagged` facts
    reach the pressure tables too."""
    validator = event_validator()
    screen_settings = ScreenSettings(pseudonym_key=EVALUATION_PSEUDONYM_KEY)
    run = FactsRun(OrdersRun())
    escalate = OfflineEscalate(run.orders, rules.escalation_policy, rules.offices)
    due_index = DueIndex()
    watermark: datetime | None = None
    escalations_seen = 0

    def publish(order_id: str, step: order_flow.OrderStep) -> None:
        nonlocal escalations_seen
        run.orders.deadline_events.extend(step.deadline_events)
        run.orders.damped.extend((order_id, damped) for damped in step.damped)
        run.facts.extend(step.facts)
        for proposal, merge_at in zip(step.proposals, step.proposal_merge_at, strict=True):
            escalate.accept(proposal, merge_at)
        for event in run.orders.escalation_events[escalations_seen:]:
            if event["type"] == "escalation.raised":
                run.facts.append(pressure.OfficeFact(event["from_office_id"], "escalated", parse_rfc3339(event["occurred_at"]).timestamp()))
        escalations_seen = len(run.orders.escalation_events)

    def store(order_id: str, record: order_flow.OrderRecord) -> None:
        run.orders.records[order_id] = record
        due_index.schedule(order_id, record.next_check_at)

    for raw in lines:
        if not raw.strip():
            continue
        run.orders.events_read += 1
        screened = screen(raw, validator, screen_settings)
        if isinstance(screened, Rejected):
            run.orders.dead_letters[screened.reason] += 1
            continue
        event = screened.event
        order_id = event["order_id"]
        appeal = event["type"] == "appeal.received"
        if appeal and verdicts is not None and order_id in verdicts:
            event = {**event, "verdict": dict(verdicts[order_id])}
        link = case_links.get(order_id) if appeal and case_links is not None else None
        try:
            step = order_flow.on_screened_event(run.orders.records.get(order_id), event, watermark, rules, awaits_link=link is not None)
            if link is not None and step.record is not None and step.record.waiting_for_link:
                step = order_flow.on_case_link(step.record, order_id, link, rules, watermark)
        except CalendarRangeError:
            run.orders.dead_letters[BEYOND_CALENDAR] += 1
            continue
        if step.duplicate:
            run.orders.duplicates += 1
            continue
        store(order_id, step.record)
        publish(order_id, step)
        occurred_at = parse_rfc3339(event["occurred_at"])
        if watermark is not None and occurred_at <= watermark:
            continue
        watermark = occurred_at
        for due_order_id in due_index.pop_due(watermark):
            run.orders.due_checks += 1
            checked = order_flow.on_watermark(run.orders.records[due_order_id], watermark, rules)
            store(due_order_id, checked.record)
            publish(due_order_id, checked)
    return run


@dataclass(frozen=True)
class MemorySample:
    """The pressure tables at the end of one simulated day."""

    day: str
    offices: int
    buckets: int
    encoded_bytes: int
    oldest_bucket_age_hours: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "offices": self.offices,
            "buckets": self.buckets,
            "encoded_bytes": self.encoded_bytes,
            "oldest_bucket_age_hours": self.oldest_bucket_age_hours,
        }


def simulation_day(at_seconds: float) -> str:
    return (datetime.fromtimestamp(at_seconds, tz=timezone.utc) + SIMULATION_UTC_OFFSET).date().isoformat()


class PressureReplay:
    """The pressure agent's loop body over one partition (see the module docstring)."""

    def __init__(
        self,
        offices: Mapping[str, Mapping[str, Any]],
        pressure_settings: pressure.PressureSettings,
        alert_settings: alert_rules.AlertSettings,
        on_snapshot: Callable[[Mapping[str, Any]], None] | None = None,
    ):
        self.on_snapshot = on_snapshot
        self.infos = {office_id: pressure.OfficeInfo.from_registry(record) for office_id, record in offices.items()}
        self.pressure_settings = pressure_settings
        self.alert_settings = alert_settings
        self.states: dict[str, pressure.OfficePressureState] = {}
        self.books: dict[str, alert_rules.AlertBook] = {}
        self.snapshot_hours: dict[str, int] = {}
        self.partition_hour = -1
        self.changes: list[dict[str, Any]] = []
        self.snapshots = 0

    def accept(self, fact: pressure.OfficeFact) -> None:
        office_id = fact.office_id
        if office_id not in self.states:
            self.states[office_id] = pressure.OfficePressureState(office_id)
            self.books[office_id] = alert_rules.empty_book(office_id)
            self.snapshot_hours[office_id] = -1
        self.states[office_id] = pressure.record(self.states[office_id], fact)
        hour = pressure.hour_started_at(fact.occurred_at_seconds)
        if hour > self.partition_hour:
            self.partition_hour = hour
            for each_office_id in sorted(self.states):
                self._take_snapshot(each_office_id, fact.occurred_at_seconds)
        elif hour > self.snapshot_hours[office_id]:
            self._take_snapshot(office_id, fact.occurred_at_seconds)

    def _take_snapshot(self, office_id: str, now_seconds: float) -> None:
        snapshot = pressure.snapshot(self.states[office_id], self.infos.get(office_id), now_seconds, self.pressure_settings)
        if self.on_snapshot is not None:
            self.on_snapshot(snapshot)
        self.books[office_id], changes = alert_rules.evaluate_office(self.books[office_id], snapshot, self.alert_settings)
        self.snapshot_hours[office_id] = pressure.hour_started_at(now_seconds)
        self.changes.extend(changes)
        self.snapshots += 1

    def memory_sample(self, day: str, newest_event_at_seconds: float) -> MemorySample:
        """Table sizes as the agent stores them (codec-encoded state, per office)."""
        starts = [bucket.started_at_seconds for state in self.states.values() for bucket in state.buckets]
        oldest_age_hours = (pressure.hour_started_at(newest_event_at_seconds) - min(starts)) / pressure.HOUR_SECONDS if starts else None
        return MemorySample(
            day=day,
            offices=len(self.states),
            buckets=len(starts),
            encoded_bytes=sum(len(codec.encode(state.to_dict())) for state in self.states.values()),
            oldest_bucket_age_hours=oldest_age_hours,
        )


def replay_pressure(
    facts: Iterable[pressure.OfficeFact],
    replay: PressureReplay,
    on_day_end: Callable[[MemorySample], None] | None = None,
) -> PressureReplay:
    """Feed the facts in order; when the facts' event time enters a new simulated day,
    `on_day_end` gets the tables as they were at the end of the day before (and once
    more after the last fact)."""
    newest_seconds: float | None = None
    for fact in facts:
        if on_day_end is not None and newest_seconds is not None and simulation_day(fact.occurred_at_seconds) > simulation_day(newest_seconds):
            on_day_end(replay.memory_sample(simulation_day(newest_seconds), newest_seconds))
        replay.accept(fact)
        newest_seconds = fact.occurred_at_seconds if newest_seconds is None else max(newest_seconds, fact.occurred_at_seconds)
    if on_day_end is not None and newest_seconds is not None:
        on_day_end(replay.memory_sample(simulation_day(newest_seconds), newest_seconds))
    return replay


@dataclass(frozen=True)
class FiringInterval:
    alert: str
    office_id: str | None
    labels: tuple[tuple[str, str], ...]
    fired_at_seconds: float
    resolved_at_seconds: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "alert": self.alert,
            "office_id": self.office_id,
            "labels": dict(self.labels),
            "fired_at": _utc(self.fired_at_seconds),
            "resolved_at": None if self.resolved_at_seconds is None else _utc(self.resolved_at_seconds),
        }


def _utc(seconds: float) -> str:
    return format_utc(datetime.fromtimestamp(seconds, tz=timezone.utc))


def firing_intervals(changes: Iterable[Mapping[str, Any]]) -> list[FiringInterval]:
    """Pair every alert.firing with the alert.resolved of the same alert, office and labels."""
    open_since: dict[tuple[str, str | None, tuple[tuple[str, str], ...]], float] = {}
    intervals = []
    for change in changes:
        key = (change["alert"], change["office_id"], tuple(sorted(change["labels"].items())))
        at_seconds = parse_rfc3339(change["occurred_at"]).timestamp()
        if change["type"] == alert_rules.FIRING_TYPE:
            open_since[key] = at_seconds
        else:
            intervals.append(FiringInterval(*key, open_since.pop(key), at_seconds))
    intervals.extend(FiringInterval(*key, since, None) for key, since in open_since.items())
    return sorted(intervals, key=lambda interval: (interval.alert, interval.office_id or "", interval.labels, interval.fired_at_seconds))


@dataclass(frozen=True)
class OverloadInterval:
    office_id: str
    start_seconds: float
    end_seconds: float


@dataclass(frozen=True)
class ExpectedTargets:
    overloads: tuple[OverloadInterval, ...]
    offices_by_alert: Mapping[str, frozenset[str]]


def expected_targets(events: Iterable[Mapping[str, Any]], truth: Iterable[Mapping[str, Any]]) -> ExpectedTargets:
    """What the truth says each alert should find (see the module docstring)."""
    overloads = []
    ping_pong_orders, rush_orders = set(), set()
    appeals_by_issue: dict[str, list[str]] = {}
    for record in truth:
        if record["kind"] == "overload":
            overloads.append(
                OverloadInterval(record["office_id"], parse_rfc3339(record["start"]).timestamp(), parse_rfc3339(record["end"]).timestamp())
            )
        elif record["kind"] == "order":
            if record["ping_pong"]:
                ping_pong_orders.add(record["order_id"])
            if record["rush_closure"]:
                rush_orders.add(record["order_id"])
        elif record["kind"] == "appeal":
            appeals_by_issue.setdefault(record["issue_id"], []).append(record["order_id"])
    storm_orders = {order_id for orders in appeals_by_issue.values() if len(orders) >= STORM_MIN_APPEALS_PER_ISSUE for order_id in orders}
    bouncing, resolving, storm_offices = set(), set(), set()
    first_dispatched: set[str] = set()
    for event in events:
        order_id, data = event["order_id"], event["data"]
        if order_id in ping_pong_orders and event["type"] == "order.dispatched" and order_id not in first_dispatched:
            first_dispatched.add(order_id)
            bouncing.add(data["office_id"])
        if order_id in rush_orders and event["type"] == "order.resolved":
            resolving.add(data["office_id"])
        if order_id in storm_orders and event["type"] == "order.dispatched":
            storm_offices.add(data["office_id"])
    return ExpectedTargets(
        tuple(overloads),
        {
            "OfficeOverloaded": frozenset(interval.office_id for interval in overloads),
            "RepeatSurge": frozenset(storm_offices),
            "PingPongOrders": frozenset(bouncing),
            "TargetSubstitutionSuspected": frozenset(resolving),
        },
    )


@dataclass(frozen=True)
class OverloadVerdict:
    """One truth overload interval against the OfficeOverloaded firings of its office."""

    interval: OverloadInterval
    fired_at_seconds: float | None
    resolved_at_seconds: float | None

    @property
    def fired_within(self) -> bool:
        return self.fired_at_seconds is not None and self.interval.start_seconds <= self.fired_at_seconds < self.interval.end_seconds

    @property
    def resolved_after(self) -> bool:
        return self.resolved_at_seconds is not None and self.resolved_at_seconds >= self.interval.end_seconds

    def to_json(self) -> dict[str, Any]:
        return {
            "office_id": self.interval.office_id,
            "truth_start": _utc(self.interval.start_seconds),
            "truth_end": _utc(self.interval.end_seconds),
            "fired_at": None if self.fired_at_seconds is None else _utc(self.fired_at_seconds),
            "resolved_at": None if self.resolved_at_seconds is None else _utc(self.resolved_at_seconds),
            "fired_within": self.fired_within,
            "resolved_after": self.resolved_after,
        }


def overload_verdicts(intervals: Iterable[FiringInterval], overloads: Iterable[OverloadInterval]) -> list[OverloadVerdict]:
    """Per truth interval: the first firing of its office that overlaps it, if any."""
    firings = [interval for interval in intervals if interval.alert == "OfficeOverloaded"]
    verdicts = []
    for overload in overloads:
        overlapping = [
            firing
            for firing in firings
            if firing.office_id == overload.office_id
            and firing.fired_at_seconds < overload.end_seconds
            and (firing.resolved_at_seconds is None or firing.resolved_at_seconds > overload.start_seconds)
        ]
        first = min(overlapping, key=lambda firing: firing.fired_at_seconds, default=None)
        verdicts.append(
            OverloadVerdict(overload, None if first is None else first.fired_at_seconds, None if first is None else first.resolved_at_seconds)
        )
    return verdicts


@dataclass(frozen=True)
class AlertVerdict:
    """Per office alert: the offices the truth points at, and where it fired."""

    alert: str
    expected_offices: frozenset[str]
    fired_offices: frozenset[str]

    @property
    def hits(self) -> frozenset[str]:
        return self.expected_offices & self.fired_offices

    @property
    def elsewhere(self) -> frozenset[str]:
        return self.fired_offices - self.expected_offices

    def to_json(self) -> dict[str, Any]:
        return {
            "alert": self.alert,
            "expected_offices": sorted(self.expected_offices),
            "fired_offices": sorted(self.fired_offices),
            "hits": sorted(self.hits),
            "elsewhere": sorted(self.elsewhere),
        }


def alert_verdicts(intervals: Iterable[FiringInterval], targets: ExpectedTargets) -> list[AlertVerdict]:
    fired: dict[str, set[str]] = {}
    for interval in intervals:
        fired.setdefault(interval.alert, set()).add(interval.office_id or "-")
    return [
        AlertVerdict(alert, targets.offices_by_alert.get(alert, frozenset()), frozenset(fired.get(alert, ())))
        for alert in alert_rules.OFFICE_ALERTS
    ]


@dataclass
class AlertsRun:
    facts_run: FactsRun
    replay: PressureReplay
    intervals: list[FiringInterval]
    memory: list[MemorySample] = field(default_factory=list)

    @property
    def changes(self) -> list[dict[str, Any]]:
        return self.replay.changes

    def fired_counts(self) -> Counter[str]:
        return Counter(interval.alert for interval in self.intervals)


def evaluate_alerts(
    lines: Iterable[bytes],
    rules: order_flow.OrderRules,
    pressure_settings: pressure.PressureSettings,
    alert_settings: alert_rules.AlertSettings,
    track_memory: bool = False,
) -> AlertsRun:
    """The whole chain: events -> office facts -> snapshots -> alert changes (+ memory curve)."""
    facts_run = replay_with_facts(lines, rules)
    memory: list[MemorySample] = []
    replay = replay_pressure(
        facts_run.facts,
        PressureReplay(rules.offices, pressure_settings, alert_settings),
        memory.append if track_memory else None,
    )
    return AlertsRun(facts_run, replay, firing_intervals(replay.changes), memory)
