"""The briefing page built from hand-made tables: what it prints, draws and leaves out.

Given a month with two street offices (one flattered by the official ranking), one
office's pressure, shares, hotspots and an alert, the page shows each table's offices
and figures, draws every chart as inline SVG, escapes the data and loads nothing.
"""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from hotline.core.assessment import OfficeAssessment, RateCounts, parse_period
from hotline.core.workcalendar import SHANGHAI
from hotline.reporting.briefing import briefing_html
from hotline.reporting.tables import AlertSpan, Briefing, Hotspot, OfficePressure, OfficeShares, PressurePoint

PERIOD = parse_period("2026-03")
HOSTILE_NAME = '<script>alert("x")</script> & Co'


def _at(day: int, hour: int) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=SHANGHAI)


def _briefing(**changes) -> Briefing:
    flattered = OfficeAssessment(
        "d01-s01", "street", RateCounts(10, 9, 8, 7, 6), RateCounts(8, 7, 6, 3, 4), 0.8125, 0.5417, 1, 2
    )
    understated = OfficeAssessment(
        "d01-s02", "street", RateCounts(20, 20, 10, 7, 7), RateCounts(20, 20, 10, 8, 8), 0.73, 0.82, 2, 1
    )
    values = dict(
        period=PERIOD,
        as_of=_at(31, 23),
        office_level="street",
        office_names={"d01-s01": HOSTILE_NAME, "d01-s02": "育才街道办事处"},
        offices=(flattered, understated),
        pressure=(OfficePressure("d01-s01", 15, (PressurePoint(_at(2, 9), 0.4), PressurePoint(_at(2, 10), 1.6), PressurePoint(_at(2, 11), 1.1))),),
        shares=(OfficeShares("d01-s01", 40, 10, 2, 6),),
        hotspots=(Hotspot("noise", "江北区", 12), Hotspot("road <works>", "临江区", 5)),
        appeals=48,
        alerts=(AlertSpan("OfficeOverloaded", "d01-s01", (), _at(2, 10), _at(3, 4)),),
        alert_summaries={"OfficeOverloaded": "Office receives more effective work than its daily capacity"},
    )
    values.update(changes)
    return Briefing(**values)


@pytest.fixture(scope="module")
def page() -> str:
    return briefing_html(_briefing())


def _rows(page: str) -> list[list[str]]:
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", page)]


def test_the_rank_table_shows_both_views_and_the_shift_of_each_office(page):
    rows = {row[0]: row for row in _rows(page) if row and row[0].startswith("d01-s0") and len(row) == 13}
    assert rows["d01-s01"][2:] == ["90.0 %", "87.5 %", "75.0 %", "81.2 %", "1", "87.5 %", "50.0 %", "66.7 %", "54.2 %", "2", "+1"]
    assert rows["d01-s02"][2:] == ["100.0 %", "70.0 %", "70.0 %", "73.0 %", "2", "100.0 %", "80.0 %", "80.0 %", "82.0 %", "1", "-1"]
    assert '<td class="number worse">+1</td>' in page
    assert '<td class="number better">-1</td>' in page


def test_pressure_shares_hotspots_and_alerts_tables_carry_their_figures(page):
    rows = _rows(page)
    assert ["d01-s01", "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co", "15", "1.60", "1.03", "2"] in rows
    assert ["d01-s01", "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co", "40", "10", "25.0 %", "2", "6", "15.0 %"] in rows
    assert ["noise", "江北区", "12", "25.0 %"] in rows
    assert ["road &lt;works&gt;", "临江区", "5", "10.4 %"] in rows
    assert ["OfficeOverloaded", "d01-s01", "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co", "", "2026-03-02 10:00", "2026-03-03 04:00"] in rows


def test_every_chart_is_an_inline_svg_inside_its_figure(page):
    figures = re.findall(r'<figure class="chart">\n(.*?)</figure>', page, re.DOTALL)
    assert len(figures) == 5
    assert all(figure.startswith("<svg ") and "</svg>" in figure for figure in figures)
    ids = re.findall(r'<svg role="img" aria-labelledby="[^"]+" id="([^"]+)"', page)
    assert ids == ["ranks-1", "pressure", "shares", "hotspots", "alerts"]
    assert "<?xml" not in page and "<!DOCTYPE svg" not in page


def test_the_page_loads_nothing_from_elsewhere(page):
    assert re.findall(r"https?:|//[a-z]", page, re.IGNORECASE) == []
    assert re.findall(r"<(script|img|link|iframe|object|embed)\b", page, re.IGNORECASE) == []
    assert re.findall(r"\bsrc=", page) == []
    # the charts reuse their own markers (xlink:href="#..."), and nothing else
    assert {target[0] for target in re.findall(r'href="([^"]*)"', page)} == {"#"}
    assert re.findall(r"url\((?!#)", page) == []
    assert "@import" not in page and "@font-face" not in page


def test_data_strings_are_escaped_in_text_and_in_charts(page):
    assert HOSTILE_NAME not in page
    assert "<script>" not in page
    assert "road &lt;works&gt; · 临江区" in page  # the hotspot chart's label, drawn as SVG text


def test_chart_text_stays_text_so_the_reader_s_fonts_draw_chinese(page):
    hotspots = re.search(r'<svg [^>]*id="hotspots".*?</svg>', page, re.DOTALL).group(0)
    assert "noise · 江北区" in re.findall(r"<text[^>]*>([^<]*)</text>", hotspots)


def test_sections_without_data_say_so_and_draw_nothing():
    page = briefing_html(_briefing(offices=(), pressure=(), shares=(), hotspots=(), appeals=0, alerts=()))
    assert "<svg" not in page
    for sentence in (
        "No office had work in this period.",
        "No office pressure was measured in this period.",
        "No office received appeals in this period.",
        "No appeal was received in this period.",
        "No alert was raised in this period.",
    ):
        assert sentence in page


def test_the_heading_names_the_period_scope_and_the_log_s_end(page):
    assert "<title>Hotline briefing 2026-03</title>" in page
    assert '<p class="lead">2026-03-01 to 2026-03-31 (city time), street offices; 48 appeals received. Figures from the order log up to 2026-03-31 23:00.</p>' in page


def test_an_office_ranked_in_one_view_only_is_still_drawn_at_its_rank():
    # given a third office whose appeals were all flagged: ranked officially, not adjusted
    briefing = _briefing()
    unranked = OfficeAssessment("d01-s03", "street", RateCounts(4, 4, 2, 2, 2), RateCounts(), 1.0, None, 3, None)
    page = briefing_html(_briefing(offices=(*briefing.offices, unranked)))
    ranks = re.search(r'<svg [^>]*id="ranks-1".*?</svg>', page, re.DOTALL).group(0)
    labels = re.findall(r"<text[^>]*>([^<]*)</text>", ranks)
    assert [label for label in labels if label.startswith("d01-s0")] == ["d01-s01  1", "d01-s02  2", "d01-s03 (no adjusted rank)  3"]
    assert ["1  d01-s02 (-1)", "2  d01-s01 (+1)"] == sorted(label for label in labels if "  d01-s0" in label)
