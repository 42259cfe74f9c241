"""The deadline stage on real 311 rows: met or breached exactly as the source's own times say.

Given the real NYC and Boston samples (tests/data/real) converted by the importers and
replayed through screen -> orders (hotline.evaluation.orders_pipeline), the resolution
clock of every closed row that carries a due time must end `deadline.met` when
closed <= due and `deadline.breached` when closed > due. The expectation is computed
here from the CSV cells with the standard library, not by the importer.

Boston's `ontime` column: for a closed case it compares closed_dt to target_dt (ONTIME
when closed at or before the target); a closed case without a target is ONTIME. For an
open case it says whether target_dt had passed when the export was taken (OVERDUE), and
ONTIME when the case has no target. The processor agrees once its watermark has
reached the export: every open case with a target is breached on the source's due time.
Cases without a target are measured against the hotline's own policy
(config/deadlines.toml, basis "policy"), which Boston does not apply.
"""

from __future__ import annotations

import csv
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hotline.contract import codec
from hotline.core import order_flow
from hotline.core.deadlines import DeadlineTracker
from hotline.importers import BOSTON311, NYC311, convert_csv
from hotline.importers.convert import REPEAT_SEPARATOR
from hotline.evaluation.orders_pipeline import OrdersRun, replay_orders
from hotline.rules import load_deadline_policy, load_escalation_policy

REAL_SAMPLES = Path(__file__).resolve().parents[2] / "data" / "real"
NEW_YORK = ZoneInfo("America/New_York")
# Every Boston target in the samples lies before this instant; the export came later still.
BOSTON_EXPORT_READ_AT = datetime(2023, 1, 1, tzinfo=timezone.utc)
NYC_FORMAT = "%m/%d/%Y %I:%M:%S %p"
BOSTON_FORMAT = "%Y-%m-%d %H:%M:%S"


def _rows(name: str) -> list[dict[str, str]]:
    with (REAL_SAMPLES / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _local(text: str, pattern: str) -> datetime:
    return datetime.strptime(text.strip(), pattern).replace(tzinfo=NEW_YORK)


def _replay(name: str, mapping, closing_watermark: datetime | None = None) -> OrdersRun:
    with (REAL_SAMPLES / name).open(newline="", encoding="utf-8") as handle:
        conversion = convert_csv(handle, mapping)
    assert conversion.problems == []
    rules = order_flow.OrderRules(DeadlineTracker(load_deadline_policy()), load_escalation_policy(), {})
    return replay_orders([codec.encode(event) for event in conversion.events], rules, closing_watermark=closing_watermark)


def _resolution_outcomes(run: OrdersRun) -> dict[str, tuple[str, str]]:
    """source order id -> (terminal deadline type, basis) of each order's resolution clock."""
    outcomes: dict[str, tuple[str, str]] = {}
    for event in run.deadline_events:
        if event["target"] == "resolution" and event["type"] in ("deadline.met", "deadline.breached", "deadline.cancelled"):
            assert event["order_id"] not in outcomes, f"two terminal events for {event['order_id']}"
            outcomes[event["order_id"]] = (event["type"], event["basis"])
    return outcomes


def _by_source_id(outcomes: dict[str, tuple[str, str]]) -> dict[str, set[tuple[str, str]]]:
    grouped: dict[str, set[tuple[str, str]]] = {}
    for order_id, outcome in outcomes.items():
        grouped.setdefault(order_id.split(REPEAT_SEPARATOR)[0], set()).add(outcome)
    return grouped


def test_every_closed_nyc_request_with_a_due_date_is_met_or_breached_as_its_times_say():
    # given the NYC sample's closed rows that carry a Due Date
    closed_with_due = [row for row in _rows("nyc311-100.csv") if row["Status"] == "Closed" and row["Due Date"].strip()]
    # when the sample is replayed through screen -> orders
    outcomes = _resolution_outcomes(_replay("nyc311-100.csv", NYC311))
    # then each one's resolution clock ended as closed > due says, on the source's due time
    expected = {
        row["Unique Key"]: ("deadline.breached" if _local(row["Closed Date"], NYC_FORMAT) > _local(row["Due Date"], NYC_FORMAT) else "deadline.met", "source_due")
        for row in closed_with_due
    }
    assert {key: outcomes[key] for key in expected} == expected
    assert len(expected) == 41
    assert sum(1 for kind, _ in expected.values() if kind == "deadline.breached") == 8


@pytest.mark.parametrize(
    "name, closed_with_target, breached",
    [("boston311-100.csv", 77, 5), ("boston311-100-20dupes-random.csv", 76, 6)],
)
def test_every_closed_boston_case_with_a_target_is_met_or_breached_as_its_times_say(name, closed_with_target, breached):
    # given a Boston sample's closed cases that carry a target_dt (a row repeated in the
    # file is a resubmission: its own order "<id>~2", with the same times)
    rows = [row for row in _rows(name) if row["case_status"] == "Closed" and row["target_dt"].strip()]
    # when the sample is replayed
    outcomes = _by_source_id(_resolution_outcomes(_replay(name, BOSTON311)))
    # then every order of each case ended as closed > target says
    for row in rows:
        late = _local(row["closed_dt"], BOSTON_FORMAT) > _local(row["target_dt"], BOSTON_FORMAT)
        assert outcomes[row["case_enquiry_id"]] == {("deadline.breached" if late else "deadline.met", "source_due")}, row["case_enquiry_id"]
    assert len(rows) == closed_with_target
    assert sum(1 for row in rows if _local(row["closed_dt"], BOSTON_FORMAT) > _local(row["target_dt"], BOSTON_FORMAT)) == breached


@pytest.mark.parametrize("name", ["boston311-100.csv", "boston311-100-20dupes-random.csv"])
def test_boston_ontime_label_agrees_with_the_resolution_outcome_of_every_closed_case(name):
    # given every closed Boston case and its ONTIME / OVERDUE label
    closed = [row for row in _rows(name) if row["case_status"] == "Closed"]
    # when the sample is replayed
    outcomes = _by_source_id(_resolution_outcomes(_replay(name, BOSTON311)))
    # then with a target: OVERDUE exactly when the processor breached the source's due time
    with_target = [row for row in closed if row["target_dt"].strip()]
    for row in with_target:
        label_outcome = "deadline.breached" if row["ontime"] == "OVERDUE" else "deadline.met"
        assert outcomes[row["case_enquiry_id"]] == {(label_outcome, "source_due")}, row["case_enquiry_id"]
    # and without a target Boston calls it ONTIME while the processor used its own policy
    without_target = [row for row in closed if not row["target_dt"].strip()]
    assert {row["ontime"] for row in without_target} == {"ONTIME"}
    assert all({basis for _, basis in outcomes[row["case_enquiry_id"]]} == {"policy"} for row in without_target)
    assert (len(closed), len(with_target), len(without_target)) == {"boston311-100.csv": (85, 77, 8), "boston311-100-20dupes-random.csv": (84, 76, 8)}[name]


def test_boston_open_cases_are_overdue_exactly_when_their_target_passed_before_the_export():
    # given the open Boston cases: OVERDUE ones have a target, ONTIME ones have none
    open_cases = [row for row in _rows("boston311-100.csv") if row["case_status"] == "Open"]
    assert {(bool(row["target_dt"].strip()), row["ontime"]) for row in open_cases} == {(True, "OVERDUE"), (False, "ONTIME")}
    # when the log is read at the export (the watermark moved there by the clock tick)
    at_export = _by_source_id(_resolution_outcomes(_replay("boston311-100.csv", BOSTON311, BOSTON_EXPORT_READ_AT)))
    # then every OVERDUE case is breached on the source's due time, and no ONTIME one is
    overdue = [row["case_enquiry_id"] for row in open_cases if row["ontime"] == "OVERDUE"]
    ontime = [row["case_enquiry_id"] for row in open_cases if row["ontime"] == "ONTIME"]
    assert all(at_export[case_id] == {("deadline.breached", "source_due")} for case_id in overdue)
    assert all(("deadline.breached", "source_due") not in at_export[case_id] for case_id in ontime)
    assert (len(overdue), len(ontime)) == (12, 3)
    # and at the sample's own last event only the targets already passed are breached
    all_rows = _rows("boston311-100.csv")
    last_event_at = max(_local(row[column], BOSTON_FORMAT) for row in all_rows for column in ("open_dt", "closed_dt") if row[column].strip())
    passed = {row["case_enquiry_id"] for row in open_cases if row["ontime"] == "OVERDUE" and _local(row["target_dt"], BOSTON_FORMAT) < last_event_at}
    at_last_event = _by_source_id(_resolution_outcomes(_replay("boston311-100.csv", BOSTON311)))
    assert {case_id for case_id in overdue if case_id in at_last_event} == passed
    assert len(passed) == 11
