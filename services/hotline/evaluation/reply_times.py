"""Reply times of an export, in working days counted the civil-code way.

Consumes rows of (received, replied) local wall-clock cells, as an appeal board exports
them (e.g. "2019/1/8 9:30:00"), with their strptime formats. Produces
`ReplyTimeFigures`: how many replies came within 1, 3, 5, 10, 15 and 20 working days
(replied by 24:00 of the n-th working day after the day of receipt, the count deadline
clocks use: hotline.core.workcalendar.working_days_elapsed), the median, 90th percentile
and maximum of that count, and the rows that could not be measured, each kind apart:
a reply before its message (a data error), a cell that is empty or fits no format, a
date outside the working calendar's known years.

A cell holding only a date (no time of day) names a whole day: a receipt is read as that
day's 00:00 and a reply as its last instant, which gives the count the day decides and
the reply the benefit of the doubt when both fall on the same day. Percentiles are
nearest-rank: the smallest count that at least that share of the replies do not exceed,
so "median 5" reads "half of the replies came within 5 working days".
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any, Iterable

from hotline.core.workcalendar import SHANGHAI, CalendarRangeError, working_days_elapsed
from hotline.importers.localtime import parse_local

DEFAULT_DATE_FORMATS = ("%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d", "%Y-%m-%d")
WITHIN_WORKING_DAYS = (1, 3, 5, 10, 15, 20)
_TIME_FIELDS = ("%H", "%I", "%M", "%S")


@dataclass(frozen=True)
class ReplyTimeFigures:
    rows: int
    measured: int
    within: dict[int, int]
    same_day: int
    median_working_days: int | None
    p90_working_days: int | None
    max_working_days: int | None
    replied_before_received: int
    unreadable: int
    outside_calendar: int
    date_only_cells: int
    distribution: dict[int, int] = field(default_factory=dict)

    def share_within(self, working_days: int) -> float | None:
        return self.within[working_days] / self.measured if self.measured else None

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "measured": self.measured,
            "same_day": self.same_day,
            "within_working_days": {str(days): count for days, count in self.within.items()},
            "share_within_working_days": {
                str(days): None if self.share_within(days) is None else round(self.share_within(days), 4) for days in self.within
            },
            "median_working_days": self.median_working_days,
            "p90_working_days": self.p90_working_days,
            "max_working_days": self.max_working_days,
            "replied_before_received": self.replied_before_received,
            "unreadable": self.unreadable,
            "outside_calendar": self.outside_calendar,
            "date_only_cells": self.date_only_cells,
            "distribution": {str(days): count for days, count in sorted(self.distribution.items())},
        }


def _nearest_rank(sorted_values: list[int], share: float) -> int | None:
    if not sorted_values:
        return None
    return sorted_values[max(1, math.ceil(share * len(sorted_values))) - 1]


def read_local(text: str, formats: tuple[str, ...], end_of_day: bool) -> tuple[datetime, bool]:
    """The instant a cell names in Asia/Shanghai, and whether it held a date only."""
    cleaned = text.strip()
    for date_format in formats:
        try:
            instant = parse_local(cleaned, (date_format,), SHANGHAI)
        except ValueError:
            continue
        date_only = not any(code in date_format for code in _TIME_FIELDS)
        if date_only and end_of_day:
            instant = datetime.combine(instant.date(), time.max, tzinfo=SHANGHAI)
        return instant, date_only
    raise ValueError(f"{cleaned!r} fits none of {', '.join(formats)}")


def reply_time_figures(
    rows: Iterable[tuple[str | None, str | None]],
    formats: tuple[str, ...] = DEFAULT_DATE_FORMATS,
    within_working_days: tuple[int, ...] = WITHIN_WORKING_DAYS,
) -> ReplyTimeFigures:
    """Figures for (received cell, replied cell) pairs (see the module docstring)."""
    counts: list[int] = []
    problems: Counter[str] = Counter()
    date_only_cells = 0
    total = 0
    for received_text, replied_text in rows:
        total += 1
        try:
            received_at, received_date_only = read_local(received_text or "", formats, end_of_day=False)
            replied_at, replied_date_only = read_local(replied_text or "", formats, end_of_day=True)
        except ValueError:
            problems["unreadable"] += 1
            continue
        date_only_cells += received_date_only + replied_date_only
        if replied_at < received_at:
            problems["replied_before_received"] += 1
            continue
        try:
            counts.append(working_days_elapsed(received_at, replied_at))
        except CalendarRangeError:
            problems["outside_calendar"] += 1
    counts.sort()
    return ReplyTimeFigures(
        rows=total,
        measured=len(counts),
        within={days: sum(1 for count in counts if count <= days) for days in within_working_days},
        same_day=sum(1 for count in counts if count == 0),
        median_working_days=_nearest_rank(counts, 0.5),
        p90_working_days=_nearest_rank(counts, 0.9),
        max_working_days=counts[-1] if counts else None,
        replied_before_received=problems["replied_before_received"],
        unreadable=problems["unreadable"],
        outside_calendar=problems["outside_calendar"],
        date_only_cells=date_only_cells,
        distribution=dict(Counter(counts)),
    )
