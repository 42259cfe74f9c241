"""One order's life in steps, for the tests of the orders table's stored record.

A step is a screened event with the watermark it arrives at, or a watermark alone (a due
check). `BEFORE_STORE` takes the order through a transfer, a suspension, an extension,
warnings, a breach and its escalation; `AFTER_STORE` continues it through a late
(out-of-order) reply, a resolution, a dissatisfied rating, a reopening, the new cycle's breach
and a dispatch older than every other, which moves the start of the first clocks.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hotline.core import order_flow
from hotline.core.deadlines import DeadlineTracker
from hotline.rules import load_deadline_policy, load_escalation_policy

ORDER_ID = "o-7"
OFFICES = {
    "city": {"level": "city", "parent_id": None},
    "d-1": {"level": "district", "parent_id": "city"},
    "s-1": {"level": "street", "parent_id": "d-1"},
    "c-1": {"level": "community", "parent_id": "s-1"},
    "c-2": {"level": "community", "parent_id": "s-1"},
}
RULES = order_flow.OrderRules(DeadlineTracker(load_deadline_policy()), load_escalation_policy(), OFFICES)
START = datetime(2025, 3, 3, 1, 0, tzinfo=timezone.utc)


def at(hours: float) -> datetime:
    return START + timedelta(hours=hours)


def screened(input_id: str, event_type: str, hours: float, **data) -> dict:
    return {
        "event_id": f"screened-{input_id}",
        "caused_by": input_id,
        "type": event_type,
        "order_id": ORDER_ID,
        "occurred_at": at(hours).isoformat().replace("+00:00", "Z"),
        "schema": 1,
        "data": data,
        "verdict": {"status": "accepted", "reasons": []},
    }


APPEAL = screened(
    f"{ORDER_ID}-01",
    "appeal.received",
    0,
    channel="phone",
    title="t",
    text="x",
    category="noise",
    urgency="urgent",
    location={"district": "临江区"},
)
DISPATCH = screened(f"{ORDER_ID}-02", "order.dispatched", 1, office_id="c-1")

BEFORE_STORE = [
    (APPEAL, None),
    (DISPATCH, at(0)),
    (screened(f"{ORDER_ID}-03", "order.transferred", 3, from_office_id="c-1", to_office_id="c-2"), at(1)),
    (screened(f"{ORDER_ID}-04", "order.signed", 5, office_id="c-2"), at(4)),
    (screened(f"{ORDER_ID}-05", "order.suspended", 6.25, office_id="c-2"), at(5)),
    (screened(f"{ORDER_ID}-06", "order.resumed", 30.5, office_id="c-2"), at(6.25)),
    (screened("ext-1", "order.extended", 31, office_id="c-2", extension_working_days=1), at(30.5)),
    (None, at(24 * 6)),
    (None, at(24 * 12)),
]
AFTER_STORE = [
    (screened(f"{ORDER_ID}-08", "order.resolved", 24 * 12 + 2, office_id="c-2"), at(24 * 12)),
    (screened(f"{ORDER_ID}-07", "order.replied", 40, office_id="c-2", kind="first_contact"), at(24 * 12 + 2)),
    (screened(f"{ORDER_ID}-09", "order.rated", 24 * 13, satisfaction="unsatisfied", resolved=False), at(24 * 12 + 2)),
    (screened(f"{ORDER_ID}-10", "order.reopened", 24 * 13 + 1), at(24 * 13)),
    (None, at(24 * 20)),
    (screened(f"{ORDER_ID}-00", "order.dispatched", 0.5, office_id="c-1"), at(24 * 20)),
    (None, at(24 * 40)),
]


def step(record: order_flow.OrderRecord | None, action: tuple[dict | None, datetime]) -> order_flow.OrderStep:
    event, watermark = action
    if event is None:
        return order_flow.on_watermark(record, watermark, RULES)
    return order_flow.on_screened_event(record, event, watermark, RULES)


def run(actions: list, record: order_flow.OrderRecord | None = None) -> tuple[list[order_flow.OrderStep], order_flow.OrderRecord]:
    steps = []
    for action in actions:
        steps.append(step(record, action))
        record = steps[-1].record
    return steps, record
