"""The period's briefing as one self-contained HTML page.

Consumes a `hotline.reporting.tables.Briefing` and produces the text of an HTML
document: headings, a short note on how to read each part, the tables, and the charts
drawn by matplotlib as inline SVG. The page loads nothing: no script, no style sheet,
font or image from elsewhere. Chart text stays text (`svg.fonttype = none`) so the
browser draws Chinese names with the reader's own fonts; every string from the data is
escaped.
"""

from __future__ import annotations

import html
import io
import re
import warnings
from datetime import datetime, timedelta
from typing import Iterable, Sequence

import matplotlib

matplotlib.use("svg")

import matplotlib.dates as mdates  # noqa: E402  (the backend is chosen before pyplot loads)
import matplotlib.pyplot as plt  # noqa: E402

from hotline.core.assessment import OfficeAssessment  # noqa: E402
from hotline.core.workcalendar import SHANGHAI  # noqa: E402
from hotline.reporting.tables import AlertSpan, Briefing, Hotspot, OfficePressure, OfficeShares  # noqa: E402

ALERT_ROWS = 25
FIGURE_WIDTH_INCHES = 9.0
# Latin text is measured with DejaVu Sans; the browser takes Chinese glyphs from the
# first of the others it has.
CHART_FONTS = ["DejaVu Sans", "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", "SimHei", "WenQuanYi Micro Hei", "sans-serif"]
WORSE, BETTER, SAME = "#c0392b", "#2471a3", "#8c8c8c"
_PROLOGUE = re.compile(r"\A.*?(?=<svg\b)", re.DOTALL)
_NAMESPACES = re.compile(r'\s+xmlns(?::\w+)?="[^"]*"')

STYLE = """
body { font-family: system-ui, "Segoe UI", "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif;
       margin: 2rem auto; max-width: 1100px; padding: 0 1rem; color: #1b1b1b; line-height: 1.45; }
h1 { margin-bottom: 0.2rem; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #ccc; padding-bottom: 0.2rem; }
p.lead { color: #555; margin-top: 0; }
figure.chart { margin: 1rem 0; } figure.chart svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.5rem; } th { background: #f3f3f3; }
td.number { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; } td.id { white-space: nowrap; } td.name { min-width: 10em; }
div.table { overflow-x: auto; }
td.worse { color: #c0392b; font-weight: 600; } td.better { color: #2471a3; font-weight: 600; }
"""


def _text(value: object) -> str:
    return html.escape(str(value), quote=True)


def _percent(ratio: float | None) -> str:
    return "–" if ratio is None else f"{100 * ratio:.1f} %"


def _rank(rank: int | None) -> str:
    return "–" if rank is None else str(rank)


def _shift(shift: int | None) -> str:
    return "–" if shift is None else f"{shift:+d}"


def _instant(at: datetime | None) -> str:
    return "still firing" if at is None else at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


# --- charts -------------------------------------------------------------------------


def svg_of(figure: plt.Figure, chart_id: str) -> str:
    """The figure as an inline <svg> element: no XML prologue, no namespace URLs, ids
    unique to the chart so several charts share one page."""
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": chart_id}):
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    plt.close(figure)
    svg = _PROLOGUE.sub("", buffer.getvalue(), count=1)
    svg = _NAMESPACES.sub("", svg)
    return svg.replace("<svg ", f'<svg role="img" aria-labelledby="{chart_id}-caption" id="{chart_id}" ', 1)


def _chart_style() -> dict[str, object]:
    return {
        "svg.fonttype": "none",
        "font.family": "sans-serif",
        "font.sans-serif": CHART_FONTS,
        "font.size": 10,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.axisbelow": True,  # grid lines behind bars and lines
    }


def _drawn(draw, chart_id: str, *args) -> str:
    with matplotlib.rc_context(_chart_style()), warnings.catch_warnings():
        # Chinese glyphs are missing from the measuring font, not from the page.
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        return svg_of(draw(*args), chart_id)


def _time_axis(axes: plt.Axes) -> None:
    """Ticks in city time that suit a day, a week or a month."""
    locator = mdates.AutoDateLocator(tz=SHANGHAI, maxticks=12)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=SHANGHAI))


def _rank_figure(rows: Sequence[OfficeAssessment]) -> plt.Figure:
    lowest = max(rank for row in rows for rank in (row.official_rank, row.adjusted_rank) if rank is not None)
    figure, axes = plt.subplots(figsize=(FIGURE_WIDTH_INCHES * 0.7, 1.2 + 0.28 * lowest))
    for row in rows:
        official, adjusted = row.official_rank, row.adjusted_rank
        if official is not None and adjusted is not None:
            shift = adjusted - official
            color = WORSE if shift > 0 else BETTER if shift < 0 else SAME
            axes.plot([0, 1], [official, adjusted], color=color, marker="o", linewidth=2 if shift else 1)
            axes.text(1.04, adjusted, f"{adjusted}  {row.office_id} ({shift:+d})", ha="left", va="center", fontsize=8, color=color)
        elif official is not None:
            axes.plot([0], [official], color=SAME, marker="o")
        elif adjusted is not None:
            axes.plot([1], [adjusted], color=SAME, marker="o")
            axes.text(1.04, adjusted, f"{adjusted}  {row.office_id} (no official rank)", ha="left", va="center", fontsize=8, color=SAME)
        if official is not None:
            unranked = "" if adjusted is not None else " (no adjusted rank)"
            axes.text(-0.04, official, f"{row.office_id}{unranked}  {official}", ha="right", va="center", fontsize=8)
    axes.set_xlim(-0.75, 1.75)
    axes.set_ylim(lowest + 0.7, 0.3)
    axes.set_xticks([0, 1], ["official rank", "adjusted rank"])
    axes.set_yticks([])
    for side in ("left", "bottom"):
        axes.spines[side].set_visible(False)
    return figure


def _pressure_figure(series: Sequence[OfficePressure], starts_at: datetime, ends_at: datetime) -> plt.Figure:
    figure, axes = plt.subplots(figsize=(FIGURE_WIDTH_INCHES, 3.8))
    for office in series:
        axes.plot([point.at for point in office.points], [point.pressure_ratio for point in office.points], label=office.office_id, linewidth=1.4)
    axes.axhline(1.0, color="#333333", linestyle="--", linewidth=1)
    axes.text(1.0, 1.0, " daily capacity", transform=axes.get_yaxis_transform(), va="bottom", ha="right", fontsize=8)
    axes.set_ylabel("last 24 h appeals / daily capacity")
    axes.set_ylim(bottom=0)
    axes.set_xlim(starts_at, ends_at)
    _time_axis(axes)
    axes.legend(loc="lower left", bbox_to_anchor=(0, 1.0), fontsize=8, frameon=False, ncol=min(5, len(series)))
    axes.grid(axis="y", color="#e5e5e5")
    return figure


def _shares_figure(shares: Sequence[OfficeShares]) -> plt.Figure:
    figure, axes = plt.subplots(figsize=(FIGURE_WIDTH_INCHES * 0.8, 1.0 + 0.38 * len(shares)))
    positions = range(len(shares))
    height = 0.38
    axes.barh([p - height / 2 for p in positions], [100 * (office.repeat_ratio or 0) for office in shares], height, label="repeats", color="#d68910")
    axes.barh([p + height / 2 for p in positions], [100 * (office.ping_pong_ratio or 0) for office in shares], height, label="returned or transferred on", color="#7d3c98")
    axes.set_yticks(list(positions), [f"{office.office_id} ({office.received})" for office in shares])
    axes.invert_yaxis()
    axes.set_xlabel("% of the appeals the office received")
    axes.legend(loc="lower left", bbox_to_anchor=(0, 1.0), fontsize=8, frameon=False, ncol=2)
    axes.grid(axis="x", color="#e5e5e5")
    return figure


def _hotspot_figure(hotspots: Sequence[Hotspot]) -> plt.Figure:
    figure, axes = plt.subplots(figsize=(FIGURE_WIDTH_INCHES * 0.8, 1.0 + 0.32 * len(hotspots)))
    positions = range(len(hotspots))
    axes.barh(list(positions), [spot.appeals for spot in hotspots], color="#117a65")
    axes.set_yticks(list(positions), [f"{spot.category} · {spot.district}" for spot in hotspots])
    axes.invert_yaxis()
    for position, spot in zip(positions, hotspots):
        axes.text(spot.appeals, position, f" {spot.appeals}", va="center", fontsize=8)
    axes.set_xlabel("appeals received")
    return figure


def _alert_rows(spans: Sequence[AlertSpan]) -> list[tuple[str, str | None]]:
    rows: list[tuple[str, str | None]] = []
    for span in spans:
        key = (span.alert, span.office_id)
        if key not in rows:
            rows.append(key)
    return rows[:ALERT_ROWS]


def _alerts_figure(spans: Sequence[AlertSpan], starts_at: datetime, ends_at: datetime) -> plt.Figure:
    rows = _alert_rows(spans)
    figure, axes = plt.subplots(figsize=(FIGURE_WIDTH_INCHES, 1.0 + 0.3 * len(rows)))
    begin, end = mdates.date2num(starts_at), mdates.date2num(ends_at)
    for index, key in enumerate(rows):
        bars = []
        for span in spans:
            if (span.alert, span.office_id) != key:
                continue
            fired = max(mdates.date2num(span.fired_at), begin)
            resolved = end if span.resolved_at is None else min(mdates.date2num(span.resolved_at), end)
            bars.append((fired, max(resolved - fired, (end - begin) / 400)))
        axes.broken_barh(bars, (index - 0.35, 0.7), color="#c0392b")
    axes.set_yticks(range(len(rows)), [f"{alert} · {office_id or 'all'}" for alert, office_id in rows])
    axes.set_ylim(len(rows) - 0.5, -0.5)
    axes.set_xlim(begin, end)
    axes.xaxis_date(tz=SHANGHAI)
    _time_axis(axes)
    axes.grid(axis="x", color="#e5e5e5")
    return figure


# --- page ---------------------------------------------------------------------------


def _table(headers: Sequence[str], rows: Iterable[Sequence[tuple[str, str]]]) -> str:
    """`rows`: cells as (text, css class); the text is escaped here."""
    head = "".join(f"<th>{_text(header)}</th>" for header in headers)
    body = "\n".join(
        "<tr>" + "".join(f'<td class="{css}">{_text(cell)}</td>' if css else f"<td>{_text(cell)}</td>" for cell, css in row) + "</tr>"
        for row in rows
    )
    return f'<div class="table">\n<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>\n</div>'


def _figure(svg: str, chart_id: str, caption: str) -> str:
    return f'<figure class="chart">\n{svg}\n<figcaption id="{chart_id}-caption">{_text(caption)}</figcaption>\n</figure>'


def _shift_class(shift: int | None) -> str:
    if not shift:
        return "number"
    return "number worse" if shift > 0 else "number better"


def _ranks_section(briefing: Briefing) -> str:
    parts = [
        "<h2>Official rank and adjusted rank</h2>",
        "<p>Each office is ranked among offices of its level by the composite of its response, resolution and "
        "satisfaction rates, as the monthly assessment counts them (official). The adjusted rank uses the same "
        "rates after three corrections: repeated appeals about one problem count once, appeals flagged as "
        "unreasonable or out of scope are left out, and a closure rushed in the last tenth of the allowed time "
        "that was then reopened or rated unsatisfied counts as unresolved.</p>",
        "<p>In the chart each line joins an office's official rank (left) to its adjusted rank (right); rank 1 is at "
        "the top. A red line falls: the official figures flatter the office. A blue line rises: the official "
        "figures understate it. Shift = adjusted rank minus official rank.</p>",
    ]
    levels = sorted({row.level or "" for row in briefing.offices})
    for index, level in enumerate(levels, 1):
        rows = [row for row in briefing.offices if (row.level or "") == level]
        title = level or "offices not in the registry"
        parts.append(f"<h3>{_text(title)} offices</h3>")
        if any(row.official_rank is not None or row.adjusted_rank is not None for row in rows):
            chart_id = f"ranks-{index}"
            parts.append(_figure(_drawn(_rank_figure, chart_id, rows), chart_id, f"Official and adjusted rank, {title} offices, {briefing.period.label}"))
        parts.append(
            _table(
                ("office", "name", "response", "resolution", "satisfaction", "score", "rank",
                 "adj. response", "adj. resolution", "adj. satisfaction", "adj. score", "adj. rank", "shift"),
                (
                    (
                        (row.office_id, "id"),
                        (briefing.office_names.get(row.office_id, ""), "name"),
                        (_percent(row.official.response_ratio), "number"),
                        (_percent(row.official.resolution_ratio), "number"),
                        (_percent(row.official.satisfaction_ratio), "number"),
                        (_percent(row.official_score), "number"),
                        (_rank(row.official_rank), "number"),
                        (_percent(row.adjusted.response_ratio), "number"),
                        (_percent(row.adjusted.resolution_ratio), "number"),
                        (_percent(row.adjusted.satisfaction_ratio), "number"),
                        (_percent(row.adjusted_score), "number"),
                        (_rank(row.adjusted_rank), "number"),
                        (_shift(row.rank_shift), _shift_class(row.rank_shift)),
                    )
                    for row in rows
                ),
            )
        )
    if not levels:
        parts.append("<p>No office had work in this period.</p>")
    return "\n".join(parts)


def _pressure_section(briefing: Briefing) -> str:
    parts = [
        "<h2>Offices under most pressure</h2>",
        "<p>Pressure is the number of appeals an office received in the last 24 hours, not counting repeats of an "
        "earlier appeal or flagged appeals, divided by the number of orders it can handle in a day. Above the "
        "dashed line at 1 the office receives more than it can handle. The chart shows, hour by hour, the offices "
        "with the highest peak in the period.</p>",
    ]
    if not briefing.pressure:
        parts.append("<p>No office pressure was measured in this period.</p>")
        return "\n".join(parts)
    parts.append(_figure(_drawn(_pressure_figure, "pressure", briefing.pressure, briefing.period.starts_at, briefing.period.ends_at), "pressure", f"Pressure of the busiest offices, {briefing.period.label}"))
    parts.append(
        _table(
            ("office", "name", "daily capacity", "peak pressure", "mean pressure", "hours above capacity"),
            (
                (
                    (office.office_id, "id"),
                    (briefing.office_names.get(office.office_id, ""), "name"),
                    (str(office.daily_capacity), "number"),
                    (f"{office.peak_ratio:.2f}", "number"),
                    (f"{office.mean_ratio:.2f}", "number"),
                    (str(office.hours_over_capacity), "number"),
                )
                for office in briefing.pressure
            ),
        )
    )
    return "\n".join(parts)


def _shares_section(briefing: Briefing) -> str:
    parts = [
        "<h2>Repeated appeals and orders passed on</h2>",
        "<p>For the offices that received the most appeals (the number in brackets), the share of those appeals "
        "that repeat a problem already reported, and the share of orders the office returned or transferred to "
        "another office. High repeat shares point to problems that were closed but not solved; high shares of "
        "orders passed on point to unclear responsibilities, where orders bounce between offices.</p>",
    ]
    if not briefing.shares:
        parts.append("<p>No office received appeals in this period.</p>")
        return "\n".join(parts)
    parts.append(_figure(_drawn(_shares_figure, "shares", briefing.shares), "shares", f"Repeats and orders passed on per office, {briefing.period.label}"))
    parts.append(
        _table(
            ("office", "name", "appeals received", "repeats", "repeat share", "flagged", "returned or transferred", "share passed on"),
            (
                (
                    (office.office_id, "id"),
                    (briefing.office_names.get(office.office_id, ""), "name"),
                    (str(office.received), "number"),
                    (str(office.repeats), "number"),
                    (_percent(office.repeat_ratio), "number"),
                    (str(office.flagged), "number"),
                    (str(office.let_go), "number"),
                    (_percent(office.ping_pong_ratio), "number"),
                )
                for office in briefing.shares
            ),
        )
    )
    return "\n".join(parts)


def _hotspots_section(briefing: Briefing) -> str:
    parts = [
        "<h2>Hotspots by category and district</h2>",
        f"<p>The category and district pairs with the most appeals received in the period "
        f"({briefing.appeals} appeals city-wide, whichever office they went to). A long bar is a problem "
        f"concentrated in one place.</p>",
    ]
    if not briefing.hotspots:
        parts.append("<p>No appeal was received in this period.</p>")
        return "\n".join(parts)
    parts.append(_figure(_drawn(_hotspot_figure, "hotspots", briefing.hotspots), "hotspots", f"Appeals per category and district, {briefing.period.label}"))
    parts.append(
        _table(
            ("category", "district", "appeals", "share of all appeals"),
            (
                ((spot.category, ""), (spot.district, ""), (str(spot.appeals), "number"), (_percent(spot.appeals / briefing.appeals), "number"))
                for spot in briefing.hotspots
            ),
        )
    )
    return "\n".join(parts)


def _alerts_section(briefing: Briefing) -> str:
    meanings = "".join(f"<li><strong>{_text(name)}</strong>: {_text(summary)}</li>" for name, summary in briefing.alert_summaries.items())
    parts = [
        "<h2>Alerts</h2>",
        "<p>The alerts raised in the period, as the live system raises them from the hourly pressure figures. "
        "Each bar runs from the time an alert was raised to the time it cleared (to the end of the period if it "
        f"was still raised then). What each alert means:</p>\n<ul>{meanings}</ul>",
    ]
    if not briefing.alerts:
        parts.append("<p>No alert was raised in this period.</p>")
        return "\n".join(parts)
    shown = _alert_rows(briefing.alerts)
    parts.append(
        _figure(
            _drawn(_alerts_figure, "alerts", briefing.alerts, briefing.period.starts_at, briefing.period.ends_at),
            "alerts",
            f"Alerts raised, {briefing.period.label}",
        )
    )
    distinct = len({(span.alert, span.office_id) for span in briefing.alerts})
    if distinct > len(shown):
        parts.append(f"<p>The chart shows the first {len(shown)} of {distinct} alert and office pairs; the table lists them all.</p>")
    parts.append(
        _table(
            ("alert", "office", "name", "about", "raised at", "cleared at"),
            (
                (
                    (span.alert, ""),
                    (span.office_id or "all", "id"),
                    (briefing.office_names.get(span.office_id or "", ""), "name"),
                    (", ".join(f"{name} {value}" for name, value in span.labels), ""),
                    (_instant(span.fired_at), ""),
                    (_instant(span.resolved_at), ""),
                )
                for span in briefing.alerts
            ),
        )
    )
    return "\n".join(parts)


def briefing_html(briefing: Briefing) -> str:
    """The whole page."""
    period = briefing.period
    scope = f"{briefing.office_level} offices" if briefing.office_level else "all offices"
    last_day = (period.ends_at - timedelta(days=1)).date()
    span = f"{period.starts_at.date().isoformat()} to {last_day.isoformat()}"
    title = f"Hotline briefing {period.label}"
    sections = (
        _ranks_section(briefing),
        _pressure_section(briefing),
        _shares_section(briefing),
        _hotspots_section(briefing),
        _alerts_section(briefing),
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_text(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{_text(title)}</h1>\n"
        f'<p class="lead">{_text(span)} (city time), {_text(scope)}; {briefing.appeals} appeals received. '
        f"Figures from the order log up to {_text(_instant(briefing.as_of))}.</p>\n"
        + "\n".join(sections)
        + "\n</body>\n</html>\n"
    )
