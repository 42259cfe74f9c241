"""The briefing's tables from snapshots, office facts, orders and firing intervals."""

from __future__ import annotations

from datetime import datetime

from hotline.core.assessment import parse_period
from hotline.core.orders import OrderState
from hotline.core.pressure import OfficeFact
from hotline.core.workcalendar import SHANGHAI
from hotline.evaluation.alerts import FiringInterval
from hotline.reporting.tables import alert_spans, hotspots, office_shares, pressure_series

PERIOD = parse_period("2026-03")


def _at(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=SHANGHAI)


def _snapshot(office_id: str, at: datetime, ratio: float | None) -> dict:
    return {"office_id": office_id, "occurred_at": at.isoformat(), "pressure_ratio": ratio}


def test_pressure_keeps_the_offices_with_the_highest_peak_in_the_period():
    # given a quiet office, a busy one, one busy only before the period and one never measured
    snapshots = [
        _snapshot("quiet", _at(3, 1, 9), 0.2),
        _snapshot("quiet", _at(3, 1, 10), 0.4),
        _snapshot("busy", _at(3, 2, 9), 1.5),
        _snapshot("busy", _at(3, 2, 8), 0.5),
        _snapshot("february", _at(2, 28, 9), 3.0),
        _snapshot("february", _at(3, 1, 9), 0.1),
        _snapshot("unknown", _at(3, 1, 9), None),
    ]
    # when the top two are asked for
    series = pressure_series(snapshots, PERIOD, {"busy": 15, "quiet": 20}, top=2)
    # then the busy office comes first, its points in time order, then the quiet one
    assert [office.office_id for office in series] == ["busy", "quiet"]
    assert [point.pressure_ratio for point in series[0].points] == [0.5, 1.5]
    assert (series[0].daily_capacity, series[0].peak_ratio, series[0].mean_ratio, series[0].hours_over_capacity) == (15, 1.5, 1.0, 1)
    assert pressure_series(snapshots, PERIOD, {}, keep={"quiet"})[0].office_id == "quiet"


def test_shares_count_the_period_s_facts_per_office():
    def fact(office_id: str, kind: str, month: int = 3) -> OfficeFact:
        return OfficeFact(office_id, kind, _at(month, 5).timestamp())

    facts = [fact("a", "received")] * 4 + [fact("a", "repeat"), fact("a", "returned"), fact("a", "transferred"), fact("a", "flagged")]
    facts += [fact("b", "received")] * 2 + [fact("b", "received", month=4), fact("b", "transferred", month=2), fact("c", "resolved")]
    shares = office_shares(facts, PERIOD)
    assert [(office.office_id, office.received, office.repeats, office.flagged, office.let_go) for office in shares] == [("a", 4, 1, 1, 2), ("b", 2, 0, 0, 0)]
    assert (shares[0].repeat_ratio, shares[0].ping_pong_ratio) == (0.25, 0.5)


def test_hotspots_count_appeals_per_category_and_district_most_first():
    orders = [
        OrderState("1", category="noise", district="江北区", received_at=_at(3, 1)),
        OrderState("2", category="noise", district="江北区", received_at=_at(3, 2)),
        OrderState("3", category="road", district="临江区", received_at=_at(3, 3)),
        OrderState("4", category="noise", district=None, received_at=_at(3, 3)),
    ]
    assert [(spot.category, spot.district, spot.appeals) for spot in hotspots(orders)] == [
        ("noise", "江北区", 2),
        ("noise", "(not given)", 1),
        ("road", "临江区", 1),
    ]
    assert len(hotspots(orders, top=1)) == 1


def test_alert_spans_keep_the_intervals_that_overlap_the_period():
    intervals = [
        FiringInterval("OfficeOverloaded", "a", (), _at(2, 27).timestamp(), _at(3, 1, 2).timestamp()),
        FiringInterval("RepeatSurge", "a", (), _at(2, 1).timestamp(), _at(2, 2).timestamp()),
        FiringInterval("PingPongOrders", "b", (), _at(3, 30).timestamp(), None),
        FiringInterval("PingPongOrders", "c", (), _at(4, 1, 1).timestamp(), None),
    ]
    spans = alert_spans(intervals, PERIOD)
    assert [(span.alert, span.office_id, span.fired_at, span.resolved_at) for span in spans] == [
        ("OfficeOverloaded", "a", _at(2, 27), _at(3, 1, 2)),
        ("PingPongOrders", "b", _at(3, 30), None),
    ]
    assert [span.office_id for span in alert_spans(intervals, PERIOD, keep={"b"})] == ["b"]
