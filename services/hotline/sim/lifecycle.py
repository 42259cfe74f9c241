"""The life of one work order, timed by how loaded its office is.

Consumes an `OrderPlan` (who gets the order, how urgent, which special behaviour) and
the offices' queues; appends the order's events, as (at_seconds, event_id, type,
order_id, data) tuples in lifecycle order, to a shared list and returns an
`OrderOutcome` the engine uses for follow-up calls and ground truth.

Queue model: each office works through its orders at `daily_capacity` orders per day, in
the order their appeals arrived (a fluid single-server queue; an order joins the queue of
the office that ends up working on it when its appeal arrives, so the queue only ever
moves forward in time). The backlog ahead of an order, in days of work, slows sign-for
and first reply, and the queue position delays resolution, so a surge an office cannot
absorb shows up as late signatures and breached deadlines.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from hotline.sim import texts
from hotline.sim.calendar import SECONDS_PER_DAY, SECONDS_PER_HOUR, SimCalendar
from hotline.sim.city import City

EventRow = tuple[int, str, str, str, dict[str, Any]]

OFFICE_OPENS_AT_SECONDS = 7 * SECONDS_PER_HOUR
OFFICE_CLOSES_AT_SECONDS = 22 * SECONDS_PER_HOUR
CENTRE_NIGHT_ENDS_AT_SECONDS = 7 * SECONDS_PER_HOUR + 1800
RESOLUTION_WORKING_DAYS = {"normal": 5, "urgent": 2}
EMERGENCY_RESOLUTION_SECONDS = SECONDS_PER_DAY
MEAN_SIGN_DELAY_SECONDS = 1.5 * SECONDS_PER_HOUR
MEAN_REPLY_DELAY_SECONDS = 4 * SECONDS_PER_HOUR
MEAN_FIELD_WORK_SECONDS = {"normal": SECONDS_PER_DAY, "urgent": SECONDS_PER_DAY / 2, "emergency": 4 * SECONDS_PER_HOUR}
SIGN_DELAY_PER_BACKLOG_DAY_RATIO = 3.0  # one day of queued work quadruples the sign-for delay
REPLY_DELAY_PER_BACKLOG_DAY_RATIO = 2.0
MAX_DELAY_SECONDS = 5 * SECONDS_PER_DAY
RETURN_RATIO = 0.03
DOWNWARD_TRANSFER_RATIO = 0.15
SUSPEND_RATIO = 0.03
EXTEND_WHEN_LATE_RATIO = 0.5
INTERIM_REPLY_WHEN_SLOW_RATIO = 0.3
PING_PONG_HANDOFFS = (4, 7)
RUSH_CLOSURE_LEAD_SECONDS = (600, 4 * SECONDS_PER_HOUR)  # how long before the deadline a rush closure lands
# A rush closure answers the letter of the order, not the problem: the office coaxes the
# caller into a good first rating, and the centre later reopens many of these orders
# because the problem is still there; after the rework the caller is usually satisfied.
# Ratios are (unsatisfied, basic) of a rating; the rest is satisfied.
RUSH_FIRST_RATING_RATIOS = (0.02, 0.1)
RUSH_REOPEN_RATIO = 0.6
REWORK_RATING_RATIOS = (0.15, 0.35)
REWORK_AFTER_RUSH_RATING_RATIOS = (0.03, 0.2)


class OfficeQueue:
    """One office's queue of work: when it will be free to start the next order."""

    __slots__ = ("seconds_per_order", "free_at")

    def __init__(self, daily_capacity: int):
        self.seconds_per_order = SECONDS_PER_DAY / max(1, daily_capacity)
        self.free_at = 0.0

    def backlog_days(self, at: int) -> float:
        return max(0.0, self.free_at - at) / SECONDS_PER_DAY

    def take(self, at: int) -> float:
        """Queue an order whose appeal arrived at `at` (never earlier than the last one);
        returns when the office has worked through it."""
        self.free_at = max(float(at), self.free_at) + self.seconds_per_order
        return self.free_at


@dataclass(frozen=True)
class OrderPlan:
    order_id: str
    received_at: int
    office_id: str
    urgency: str
    community_id: str | None
    ping_pong_partner_id: str | None = None
    rush_closure: bool = False
    resolve_not_before: int | None = None  # an outage nobody fixes before it ends
    keep_at_office: bool = False  # no return, no transfer down
    out_of_scope_reason: str | None = None  # dispatched although out of scope: the office returns it


@dataclass(frozen=True)
class OrderOutcome:
    due_at: int
    effective_due_at: int  # after suspensions and approved extensions
    resolved_at: int | None  # first resolution
    rated_at: int | None
    unhappy: bool  # the first rating was unsatisfied or said "not resolved"
    rush_closed: bool = False  # resolved just before the deadline, whatever the work


class _OrderLog:
    """Appends one order's events with strictly increasing times and readable ids."""

    __slots__ = ("order_id", "rows", "sequence", "last_at")

    def __init__(self, order_id: str, received_at: int, rows: list[EventRow]):
        self.order_id = order_id
        self.rows = rows
        self.sequence = 1  # 01 is the appeal.received the engine wrote
        self.last_at = received_at

    def add(self, at: float, event_type: str, data: dict[str, Any]) -> int:
        at = max(int(at), self.last_at + 1)
        self.sequence += 1
        self.rows.append((at, f"{self.order_id}-{self.sequence:02d}", event_type, self.order_id, data))
        self.last_at = at
        return at


def appeal_event_id(order_id: str) -> str:
    return f"{order_id}-01"


class Lifecycles:
    def __init__(self, rng: random.Random, calendar: SimCalendar, city: City, rows: list[EventRow]):
        self._rng = rng
        self._calendar = calendar
        self._city = city
        self._rows = rows
        self.queues = {office.office_id: OfficeQueue(office.daily_capacity) for office in city.offices}

    def answer(self, order_id: str, received_at: int, summary: str, urgency: str) -> None:
        """The operator answers on the call (or transfers to 110/119/120): no work order."""
        rng = self._rng
        log = _OrderLog(order_id, received_at, self._rows)
        answer_delay = rng.randint(30, 180) if urgency == "emergency" else rng.randint(60, 600)
        at = log.add(received_at + answer_delay, "appeal.answered", {"summary": summary})
        log.add(at + rng.randint(60, 1800), "order.closed", {"status": "answered"})

    def dispatch(self, plan: OrderPlan) -> OrderOutcome:
        rng = self._rng
        log = _OrderLog(plan.order_id, plan.received_at, self._rows)
        at = log.last_at + (rng.randint(30, 300) if plan.urgency == "emergency" else rng.randint(120, 1800))
        if plan.urgency != "emergency" and at % SECONDS_PER_DAY < CENTRE_NIGHT_ENDS_AT_SECONDS:
            at = at - at % SECONDS_PER_DAY + CENTRE_NIGHT_ENDS_AT_SECONDS + rng.randint(0, 3600)
        due_at = self._due(at, plan.urgency)
        due_text = self._calendar.local_text(due_at)
        office_id = plan.office_id
        at = log.add(at, "order.dispatched", {"office_id": office_id, "due_at": due_text})
        at = log.add(self._sign_time(office_id, at, plan), "order.signed", {"office_id": office_id})
        if plan.out_of_scope_reason is not None:
            reason = texts.OUT_OF_SCOPE_RETURN_REASONS[plan.out_of_scope_reason]
            at = log.add(self._office_hours(at + rng.randint(SECONDS_PER_HOUR, 6 * SECONDS_PER_HOUR)), "order.returned", {"office_id": office_id, "reason": reason})
            log.add(at + rng.randint(600, 7200), "order.closed", {"status": "returned"})
            return OrderOutcome(due_at, due_at, None, None, unhappy=False)
        if plan.ping_pong_partner_id is not None:
            office_id, at = self._ping_pong(log, office_id, plan.ping_pong_partner_id, at, due_text, plan)
        elif not plan.keep_at_office and not plan.rush_closure:
            office_id, at = self._hand_on(log, office_id, plan, at, due_text)
        reply_text = rng.choice(texts.FIRST_CONTACT_REPLIES)
        at = log.add(self._reply_time(office_id, at, plan), "order.replied", {"office_id": office_id, "kind": "first_contact", "text": reply_text})
        if plan.rush_closure and due_at - at > RUSH_CLOSURE_LEAD_SECONDS[1] + SECONDS_PER_HOUR:
            resolved_at = log.add(due_at - rng.randint(*RUSH_CLOSURE_LEAD_SECONDS), "order.resolved", {"office_id": office_id, "summary": rng.choice(texts.RUSH_RESOLUTIONS)})
            rush = True
            effective_due_at = due_at
        else:
            resolved_at, effective_due_at = self._work(log, office_id, plan, at, due_at)
            rush = False
        rated_at, satisfaction, resolved = self._rate(log, resolved_at, late=resolved_at > effective_due_at, rush=rush)
        unhappy = satisfaction == "unsatisfied" or not resolved
        last_rated_at = rated_at
        if rush:
            reopened = rng.random() < RUSH_REOPEN_RATIO  # the problem is still there, whatever the rating said
        else:
            reopened = satisfaction == "unsatisfied" and not resolved and rng.random() < 0.35
        if reopened:
            last_rated_at = self._reopen(log, office_id, rated_at, plan, REWORK_AFTER_RUSH_RATING_RATIOS if rush else REWORK_RATING_RATIOS)
        log.add(last_rated_at + rng.randint(1800, SECONDS_PER_DAY), "order.closed", {"status": "closed"})
        return OrderOutcome(due_at, effective_due_at, resolved_at, rated_at, unhappy, rush)

    def _due(self, dispatched_at: int, urgency: str) -> int:
        if urgency == "emergency":
            return dispatched_at + EMERGENCY_RESOLUTION_SECONDS
        return self._calendar.add_working_days(dispatched_at, RESOLUTION_WORKING_DAYS[urgency])

    def _office_hours(self, at: float) -> int:
        """Offices act between 07:00 and 22:00; later work waits for the next morning."""
        at = int(at)
        time_of_day = at % SECONDS_PER_DAY
        if time_of_day < OFFICE_OPENS_AT_SECONDS:
            return at - time_of_day + OFFICE_OPENS_AT_SECONDS + self._rng.randint(0, 5400)
        if time_of_day >= OFFICE_CLOSES_AT_SECONDS:
            return at - time_of_day + SECONDS_PER_DAY + OFFICE_OPENS_AT_SECONDS + self._rng.randint(0, 5400)
        return at

    def _sign_time(self, office_id: str, at: int, plan: OrderPlan) -> int:
        urgency = plan.urgency
        load = 1 + SIGN_DELAY_PER_BACKLOG_DAY_RATIO * self.queues[office_id].backlog_days(plan.received_at)
        delay = self._rng.expovariate(1 / MEAN_SIGN_DELAY_SECONDS) * load
        if urgency == "emergency":
            return at + 60 + int(min(delay, MAX_DELAY_SECONDS) / 5)
        return self._office_hours(at + 120 + min(delay, MAX_DELAY_SECONDS))

    def _reply_time(self, office_id: str, at: int, plan: OrderPlan) -> int:
        urgency = plan.urgency
        load = 1 + REPLY_DELAY_PER_BACKLOG_DAY_RATIO * self.queues[office_id].backlog_days(plan.received_at)
        delay = self._rng.expovariate(1 / MEAN_REPLY_DELAY_SECONDS) * load
        if urgency == "emergency":
            return at + 300 + int(min(delay, MAX_DELAY_SECONDS) / 5)
        return self._office_hours(at + 600 + min(delay, MAX_DELAY_SECONDS))

    def _hand_on(self, log: _OrderLog, office_id: str, plan: OrderPlan, at: int, due_text: str) -> tuple[str, int]:
        """The ordinary moves: now and then a return and re-dispatch, and street offices
        passing resident matters down to the community."""
        rng = self._rng
        if rng.random() < RETURN_RATIO:
            at = log.add(self._office_hours(at + rng.randint(SECONDS_PER_HOUR, 8 * SECONDS_PER_HOUR)), "order.returned", {"office_id": office_id, "reason": rng.choice(texts.RETURN_REASONS)})
            street_id = plan.community_id and self._city.office(plan.community_id).parent_id
            office_id = "dept-urban" if office_id == street_id or street_id is None else street_id
            at = log.add(at + rng.randint(600, 7200), "order.dispatched", {"office_id": office_id, "due_at": due_text})
            at = log.add(self._sign_time(office_id, at, plan), "order.signed", {"office_id": office_id})
        if plan.community_id is not None and self._city.office(office_id).level == "street" and rng.random() < DOWNWARD_TRANSFER_RATIO:
            community_id = plan.community_id
            at = log.add(self._office_hours(at + rng.randint(1800, 4 * SECONDS_PER_HOUR)), "order.transferred", {"from_office_id": office_id, "to_office_id": community_id, "reason": texts.DOWNWARD_TRANSFER_REASON})
            at = log.add(self._sign_time(community_id, at, plan), "order.signed", {"office_id": community_id})
            office_id = community_id
        return office_id, at

    def _ping_pong(self, log: _OrderLog, holder_id: str, partner_id: str, at: int, due_text: str, plan: OrderPlan) -> tuple[str, int]:
        """Two offices each say the order is the other's, by returns and transfers."""
        rng = self._rng
        for _ in range(rng.randint(*PING_PONG_HANDOFFS)):
            reason = texts.ping_pong_reason(rng, self._city.office(partner_id).name)
            at = self._office_hours(at + rng.randint(SECONDS_PER_HOUR, 16 * SECONDS_PER_HOUR))
            if rng.random() < 0.5:
                at = log.add(at, "order.returned", {"office_id": holder_id, "reason": reason})
                at = log.add(at + rng.randint(600, 7200), "order.dispatched", {"office_id": partner_id, "due_at": due_text})
            else:
                at = log.add(at, "order.transferred", {"from_office_id": holder_id, "to_office_id": partner_id, "reason": reason})
            at = log.add(self._sign_time(partner_id, at, plan), "order.signed", {"office_id": partner_id})
            holder_id, partner_id = partner_id, holder_id
        return holder_id, at

    def _work(self, log: _OrderLog, office_id: str, plan: OrderPlan, replied_at: int, due_at: int) -> tuple[int, int]:
        """Work through the order: queue, field work, maybe a pause or an extension.
        Returns (resolved_at, effective_due_at)."""
        rng = self._rng
        field_work_seconds = SECONDS_PER_HOUR + rng.expovariate(1 / MEAN_FIELD_WORK_SECONDS[plan.urgency])
        resolved_at = max(replied_at + 1800, self.queues[office_id].take(plan.received_at) + field_work_seconds)
        if plan.resolve_not_before is not None:
            resolved_at = max(resolved_at, plan.resolve_not_before + rng.randint(SECONDS_PER_HOUR, 10 * SECONDS_PER_HOUR))
        effective_due_at = due_at
        steps: list[tuple[int, str, dict[str, Any]]] = []
        working_since = replied_at
        if rng.random() < SUSPEND_RATIO:
            suspended_at = replied_at + rng.randint(2 * SECONDS_PER_HOUR, SECONDS_PER_DAY)
            paused_seconds = rng.randint(SECONDS_PER_DAY, 4 * SECONDS_PER_DAY)
            steps.append((suspended_at, "order.suspended", {"reason": rng.choice(texts.SUSPEND_REASONS)}))
            steps.append((suspended_at + paused_seconds, "order.resumed", {}))
            resolved_at = max(resolved_at, suspended_at) + paused_seconds
            effective_due_at += paused_seconds
            working_since = suspended_at + paused_seconds
        resolved_at = self._office_hours(resolved_at)
        if resolved_at > effective_due_at and rng.random() < EXTEND_WHEN_LATE_RATIO:
            requested_at = max(replied_at + 600, effective_due_at - rng.randint(2 * SECONDS_PER_HOUR, 20 * SECONDS_PER_HOUR))
            extension_working_days = rng.randint(3, 10)
            steps.append((requested_at, "order.extended", {"extension_working_days": extension_working_days, "reason": rng.choice(texts.EXTENSION_REASONS)}))
            effective_due_at = self._calendar.add_working_days(effective_due_at, extension_working_days)
        if resolved_at - working_since > 3 * SECONDS_PER_DAY and rng.random() < INTERIM_REPLY_WHEN_SLOW_RATIO:
            interim_at = working_since + (resolved_at - working_since) // 2
            steps.append((interim_at, "order.replied", {"office_id": office_id, "kind": "interim", "text": rng.choice(texts.INTERIM_REPLIES)}))
        for step_at, event_type, data in sorted(steps, key=lambda step: step[0]):
            log.add(step_at, event_type, data)
        resolved_at = log.add(resolved_at, "order.resolved", {"office_id": office_id, "summary": rng.choice(texts.RESOLUTIONS)})
        return resolved_at, effective_due_at

    def _rate(self, log: _OrderLog, resolved_at: int, late: bool, rush: bool) -> tuple[int, str, bool]:
        """The follow-up call: late resolutions please fewer callers; the callers of a
        rush closure were coaxed into a good rating beforehand."""
        rng = self._rng
        if rush:
            (unsatisfied_ratio, basic_ratio), resolved_if_unsatisfied_ratio = RUSH_FIRST_RATING_RATIOS, 0.3
        else:
            unsatisfied_ratio, basic_ratio, resolved_if_unsatisfied_ratio = (0.33 if late else 0.08), 0.15, 0.35
        draw = rng.random()
        if draw < unsatisfied_ratio:
            satisfaction, resolved = "unsatisfied", rng.random() < resolved_if_unsatisfied_ratio
        elif draw < unsatisfied_ratio + basic_ratio:
            satisfaction, resolved = "basic", rng.random() < 0.85
        else:
            satisfaction, resolved = "satisfied", True
        rated_at = self._office_hours(resolved_at + rng.randint(SECONDS_PER_HOUR, 36 * SECONDS_PER_HOUR))
        rated_at = log.add(rated_at, "order.rated", {"satisfaction": satisfaction, "resolved": resolved})
        return rated_at, satisfaction, resolved

    def _reopen(self, log: _OrderLog, office_id: str, rated_at: int, plan: OrderPlan, rating_ratios: tuple[float, float]) -> int:
        """The centre reopens an unresolved order; the same office works it again, this
        time without queueing (it knows the case). Returns when the second rating happened."""
        rng = self._rng
        at = log.add(rated_at + rng.randint(SECONDS_PER_HOUR, 12 * SECONDS_PER_HOUR), "order.reopened", {"reason": rng.choice(texts.REOPEN_REASONS)})
        at = log.add(self._reply_time(office_id, at, plan), "order.replied", {"office_id": office_id, "kind": "interim", "text": rng.choice(texts.INTERIM_REPLIES)})
        field_work_seconds = SECONDS_PER_HOUR + rng.expovariate(1 / MEAN_FIELD_WORK_SECONDS[plan.urgency])
        resolved_at = self._office_hours(at + 1800 + field_work_seconds)
        resolved_at = log.add(resolved_at, "order.resolved", {"office_id": office_id, "summary": rng.choice(texts.RESOLUTIONS)})
        unsatisfied_ratio, basic_ratio = rating_ratios
        draw = rng.random()
        satisfaction = "unsatisfied" if draw < unsatisfied_ratio else "basic" if draw < unsatisfied_ratio + basic_ratio else "satisfied"
        rated_at = self._office_hours(resolved_at + rng.randint(SECONDS_PER_HOUR, 36 * SECONDS_PER_HOUR))
        return log.add(rated_at, "order.rated", {"satisfaction": satisfaction, "resolved": satisfaction != "unsatisfied"})
