"""Precision of the screening verdict's reasons against hand labels.

Consumes flag-label files (CSV `order_id,reason,agree`; `agree` is yes when a reader of
the appeal agrees that the reason applies to it, no when not; '#' comment lines on top)
and the verdicts of an `OfflineRun`. Produces, per reason the rules gave: how many
appeals got it, how many of those a label judges, how many the reader agrees with, and
the precision. An (appeal, reason) pair without a label is unjudged.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from hotline.core.screen_rules import REASON_CODES, Verdict
from hotline.evaluation.labels import LabelFileError

FLAG_LABEL_COLUMNS = ("order_id", "reason", "agree")
_AGREE = {"yes": True, "no": False}


def read_flag_labels(text: str, source: str) -> dict[tuple[str, str], bool]:
    """(order_id, reason) -> whether the reader agrees; `source` names the file in errors."""
    lines = text.splitlines()
    first = 0
    while first < len(lines) and (not lines[first].strip() or lines[first].lstrip().startswith("#")):
        first += 1
    rows = csv.reader(io.StringIO("\n".join(lines[first:])))
    header = tuple(column.strip() for column in next(rows, ()))
    if header != FLAG_LABEL_COLUMNS:
        raise LabelFileError(f"{source}:{first + 1}: header must be {','.join(FLAG_LABEL_COLUMNS)}, got {','.join(header)}")
    labels: dict[tuple[str, str], bool] = {}
    for line, row in enumerate(rows, start=first + 2):
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) != 3:
            raise LabelFileError(f"{source}:{line}: expected 3 columns, got {len(row)}")
        order_id, reason, agree = (cell.strip() for cell in row)
        if reason not in REASON_CODES:
            raise LabelFileError(f"{source}:{line}: unknown reason {reason!r}")
        if agree not in _AGREE:
            raise LabelFileError(f"{source}:{line}: agree must be yes or no, got {agree!r}")
        if labels.get((order_id, reason), _AGREE[agree]) != _AGREE[agree]:
            raise LabelFileError(f"{source}:{line}: {order_id} {reason} is labelled both yes and no")
        labels[(order_id, reason)] = _AGREE[agree]
    return labels


def read_flag_label_file(path: Path | str) -> dict[tuple[str, str], bool]:
    return read_flag_labels(Path(path).read_text(encoding="utf-8-sig"), str(path))


@dataclass(frozen=True)
class ReasonPrecision:
    reason: str
    given: int
    judged: int
    agreed: int

    @property
    def precision(self) -> float | None:
        return self.agreed / self.judged if self.judged else None

    def to_json(self) -> dict[str, Any]:
        return {"reason": self.reason, "given": self.given, "judged": self.judged, "agreed": self.agreed, "precision": self.precision}


def score_reasons(verdicts: Mapping[str, Verdict], labels: Mapping[tuple[str, str], bool]) -> list[ReasonPrecision]:
    """One row per reason code, in their order, and a last row `any` over all of them."""
    rows = []
    for reason in (*REASON_CODES, "any"):
        given = [(order_id, r) for order_id, verdict in verdicts.items() for r in verdict.reasons if reason in (r, "any")]
        judged = [labels[pair] for pair in given if pair in labels]
        rows.append(ReasonPrecision(reason, len(given), len(judged), sum(judged)))
    return rows
