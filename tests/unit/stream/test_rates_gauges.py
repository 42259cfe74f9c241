"""The assessment gauges show the current day, week and month only: a row of an earlier
period sets nothing, and a period the clock leaves takes its series with it."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from prometheus_client import REGISTRY

from hotline.stream.agents.rates import GaugeBook

EXAMPLE = Path(__file__).resolve().parents[3] / "schemas" / "examples" / "hotline.office-rates.v1" / "valid" / "month-official-rank-flatters.json"
IN_MARCH = datetime(2026, 3, 7, 1, 0, tzinfo=timezone.utc)
IN_APRIL = datetime(2026, 4, 1, 1, 0, tzinfo=timezone.utc)


def sample(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def test_a_current_month_row_sets_the_office_s_gauges_and_april_removes_them():
    row = json.loads(EXAMPLE.read_text())
    book = GaugeBook()
    book.observe(IN_MARCH, [row])
    labels = {"office": "d04-s02", "level": "street", "period": "month"}
    assert sample("hotline_office_assessment_rank_shift", **labels) == 1
    assert sample("hotline_office_assessment_rank", **labels, view="official") == 1
    assert sample("hotline_office_assessment_rank", **labels, view="adjusted") == 2
    assert sample("hotline_office_assessment_rate_ratio", **labels, view="adjusted", rate="resolution") == 0.0
    assert sample("hotline_office_assessment_score", **labels, view="official") == row["official"]["score"]
    # the clock enters April: the March series go
    book.observe(IN_APRIL, [])
    assert sample("hotline_office_assessment_rank_shift", **labels) is None
    assert sample("hotline_office_assessment_score", **labels, view="official") is None


def test_a_row_of_a_period_the_clock_has_left_sets_nothing():
    row = json.loads(EXAMPLE.read_text())
    GaugeBook().observe(IN_APRIL, [row])
    assert sample("hotline_office_assessment_rank_shift", office="d04-s02", level="street", period="month") is None


def test_a_rate_without_a_denominator_has_no_series():
    row = json.loads(EXAMPLE.read_text())
    row["official"]["response_ratio"] = None
    book = GaugeBook()
    book.observe(IN_MARCH, [row])
    labels = {"office": "d04-s02", "level": "street", "period": "month", "view": "official"}
    assert sample("hotline_office_assessment_rate_ratio", **labels, rate="response") is None
    assert sample("hotline_office_assessment_rate_ratio", **labels, rate="resolution") == 1.0
    book.forget()
    assert sample("hotline_office_assessment_rate_ratio", **labels, rate="resolution") is None
