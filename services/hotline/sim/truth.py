"""Ground truth of a simulated run, for scoring the processor's stages.

Consumes the run's event rows (sorted, cut at the end of the simulated days), what the
engine knows about each appeal, the orders that were planned to be special, and the
office registry. Produces JSON-lines records (docs/simulator.md documents the format):

- {"kind": "appeal", ...} one per appeal.received, in the order of the events;
- {"kind": "overload", "office_id", "start", "end"} each interval of whole hours in which
  an office is overloaded: over the trailing 24 hours more orders came in than its daily
  capacity, and it holds more open orders than 24 hours earlier;
- {"kind": "order", ...} for orders that bounced (ping-pong) or were closed in a rush,
  with the escalation reasons (the escalate stage's codes) their events should raise.

Overload and order truths are read off the emitted events, so they describe the log a
consumer sees rather than the simulator's intentions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

from hotline.sim.calendar import SECONDS_PER_HOUR

PING_PONG_MIN_HANDOFFS = 3  # returns + transfers; an ordinary order has at most two
OVERLOAD_WINDOW_HOURS = 24
# The escalate stage's reason codes, in its order; a reason appears at most once.
RESOLUTION_BREACHED = "resolution_breached"
REPEATED_APPEALS = "repeated_appeals"
EMERGENCY_URGENCY = "emergency_urgency"
PING_PONG = "ping_pong"
DISSATISFIED_AFTER_RESOLUTION = "dissatisfied_after_resolution"
REPEATED_APPEALS_MIN_EARLIER = 3  # earlier appeals about the same issue


@dataclass(frozen=True)
class SpecialOrder:
    ping_pong_planned: bool
    rush_closed: bool
    effective_due_at: int


def appeal_record(order_id: str, issue_id: str, repeat_of: str | None, relation: str | None, unreasonable_reason: str | None) -> dict[str, Any]:
    return {
        "kind": "appeal",
        "order_id": order_id,
        "issue_id": issue_id,
        "repeat_of": repeat_of,
        "relation": relation,
        "unreasonable": unreasonable_reason is not None,
        "unreasonable_reason": unreasonable_reason,
    }


def overload_intervals(rows: Iterable[tuple], daily_capacities: dict[str, int], horizon_seconds: int) -> list[tuple[str, int, int]]:
    """(office_id, start_hour, end_hour) per overloaded interval, end exclusive, by office
    in registry order then time."""
    hours = horizon_seconds // SECONDS_PER_HOUR
    inflow = {office_id: [0] * hours for office_id in daily_capacities}
    backlog_change = {office_id: [0] * hours for office_id in daily_capacities}
    holder: dict[str, str] = {}
    last_resolver: dict[str, str] = {}

    def arrive(office_id: str, hour: int) -> None:
        inflow[office_id][hour] += 1
        backlog_change[office_id][hour] += 1

    for at, _, event_type, order_id, data in rows:
        hour = at // SECONDS_PER_HOUR
        if event_type == "order.dispatched":
            holder[order_id] = data["office_id"]
            arrive(data["office_id"], hour)
        elif event_type == "order.transferred":
            backlog_change[data["from_office_id"]][hour] -= 1
            holder[order_id] = data["to_office_id"]
            arrive(data["to_office_id"], hour)
        elif event_type in ("order.returned", "order.resolved", "order.closed"):
            office_id = holder.pop(order_id, None)
            if office_id is not None:
                backlog_change[office_id][hour] -= 1
                if event_type == "order.resolved":
                    last_resolver[order_id] = office_id
        elif event_type == "order.reopened" and order_id in last_resolver:
            holder[order_id] = last_resolver[order_id]
            arrive(holder[order_id], hour)
    intervals = []
    for office_id, capacity in daily_capacities.items():
        arrivals, changes = inflow[office_id], backlog_change[office_id]
        backlog, window_inflow, started = [], 0, None
        for hour in range(hours):
            backlog.append((backlog[-1] if backlog else 0) + changes[hour])
            window_inflow += arrivals[hour]
            if hour >= OVERLOAD_WINDOW_HOURS:
                window_inflow -= arrivals[hour - OVERLOAD_WINDOW_HOURS]
            earlier_backlog = backlog[hour - OVERLOAD_WINDOW_HOURS] if hour >= OVERLOAD_WINDOW_HOURS else 0
            overloaded = window_inflow > capacity and backlog[hour] > earlier_backlog
            if overloaded and started is None:
                started = hour
            elif not overloaded and started is not None:
                intervals.append((office_id, started, hour))
                started = None
        if started is not None:
            intervals.append((office_id, started, hours))
    return intervals


def _order_record(order_id: str, special: SpecialOrder, order_rows: list[tuple], earlier_appeals: int, horizon_seconds: int) -> dict[str, Any] | None:
    handoffs = sum(1 for row in order_rows if row[2] in ("order.returned", "order.transferred"))
    resolved_times = [row[0] for row in order_rows if row[2] == "order.resolved"]
    first_resolved_at = resolved_times[0] if resolved_times else None
    ping_pong = special.ping_pong_planned and handoffs >= PING_PONG_MIN_HANDOFFS
    rush_closure = special.rush_closed and first_resolved_at is not None
    if not (ping_pong or rush_closure):
        return None
    due = special.effective_due_at
    breached = first_resolved_at > due if first_resolved_at is not None else horizon_seconds > due
    dissatisfied = any(row[2] == "order.rated" and (row[4]["satisfaction"] == "unsatisfied" or not row[4]["resolved"]) for row in order_rows)
    expected = (
        (RESOLUTION_BREACHED, breached),
        (REPEATED_APPEALS, earlier_appeals >= REPEATED_APPEALS_MIN_EARLIER),
        (EMERGENCY_URGENCY, order_rows[0][4]["urgency"] == "emergency"),
        (PING_PONG, ping_pong),
        (DISSATISFIED_AFTER_RESOLUTION, dissatisfied),
    )
    return {
        "kind": "order",
        "order_id": order_id,
        "ping_pong": ping_pong,
        "rush_closure": rush_closure,
        "expected_escalations": [reason for reason, raised in expected if raised],
    }


def ground_truth(
    rows: list[tuple],
    appeal_records: list[dict[str, Any]],
    special_orders: dict[str, SpecialOrder],
    daily_capacities: dict[str, int],
    horizon_seconds: int,
    utc_text: Callable[[int], str],
) -> tuple[dict[str, Any], ...]:
    records = list(appeal_records)
    for office_id, start_hour, end_hour in overload_intervals(rows, daily_capacities, horizon_seconds):
        records.append({"kind": "overload", "office_id": office_id, "start": utc_text(start_hour * SECONDS_PER_HOUR), "end": utc_text(end_hour * SECONDS_PER_HOUR)})
    rows_by_order: dict[str, list[tuple]] = {order_id: [] for order_id in special_orders}
    for row in rows:
        order_rows = rows_by_order.get(row[3])
        if order_rows is not None:
            order_rows.append(row)
    earlier_appeals: dict[str, int] = {}
    appeals_per_issue: dict[str, int] = {}
    for appeal in appeal_records:
        count = appeals_per_issue.get(appeal["issue_id"], 0)
        if appeal["order_id"] in special_orders:
            earlier_appeals[appeal["order_id"]] = count
        appeals_per_issue[appeal["issue_id"]] = count + 1
    for order_id in sorted(special_orders):
        record = _order_record(order_id, special_orders[order_id], rows_by_order[order_id], earlier_appeals[order_id], horizon_seconds)
        if record is not None:
            records.append(record)
    return tuple(records)
