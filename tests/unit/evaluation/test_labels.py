"""Scoring an offline run against labels of real links (hand-made runs and labels)."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from hotline.cli.evaluate_commands import evaluate_group
from hotline.core.dedupe import CaseDecision
from hotline.core.screen_rules import Verdict
from hotline.evaluation.labels import LabelFileError, Labels, read_labels, score_with_labels
from hotline.evaluation.pipeline import OfflineRun

HEADER = "order_id,earlier_order_id,label\n"


def _opened(order_id: str, at: float = 0.0) -> CaseDecision:
    return CaseDecision(f"e-{order_id}", order_id, order_id, at)


def _linked(order_id: str, case_id: str, matched: str, relation: str, similarity: float, earlier: tuple[str, ...]) -> CaseDecision:
    return CaseDecision(f"e-{order_id}", order_id, case_id, 60.0, relation, similarity, matched, earlier)


def _labels(text: str) -> Labels:
    return Labels.of(read_labels(HEADER + text, "labels.csv"))


# Case C1: O1 opened it, O2 and O3 joined (O3 matched O2), O4 joined O1's case too.
# O5 opened its own case, O6 linked to it, O7 was rejected, O8 opened a case.
RUN = OfflineRun(
    verdicts={
        "O1": Verdict("accepted"),
        "O2": Verdict("accepted"),
        "O3": Verdict("flagged", ("frequent_caller",)),
        "O4": Verdict("accepted"),
        "O5": Verdict("accepted"),
        "O6": Verdict("accepted"),
        "O7": Verdict("rejected", ("non_actionable",)),
        "O8": Verdict("accepted"),
    },
    decisions={
        "O1": _opened("O1"),
        "O2": _linked("O2", "O1", "O1", "exact_resubmission", 1.0, ("O1",)),
        "O3": _linked("O3", "O1", "O2", "same_caller_same_issue", 0.8, ("O2",)),
        "O4": _linked("O4", "O1", "O1", "other_caller_same_issue", 0.6, ("O1",)),
        "O5": _opened("O5"),
        "O6": _linked("O6", "O5", "O5", "other_caller_same_issue", 0.5, ("O5",)),
        "O8": _opened("O8"),
    },
    appeals=8,
)


def test_without_labels_only_verdicts_and_links_are_counted():
    scores = score_with_labels(RUN, None)
    assert scores.statuses == {"accepted": 6, "flagged": 1, "rejected": 1}
    assert scores.reasons["frequent_caller"] == 1 and scores.reasons["non_actionable"] == 1
    assert scores.link_counts == {"exact_resubmission": 1, "same_caller_same_issue": 1, "other_caller_same_issue": 2, "standing_case": 0}
    assert scores.overall_precision is None
    assert set(scores.to_json()) == {"appeals", "verdicts_by_status", "verdicts_by_reason", "links_by_relation"}


def test_a_link_is_correct_when_the_labelled_original_is_anywhere_in_the_case():
    # given O3 labelled a duplicate of O1: it matched O2, but O1 is in the same case
    labels = _labels("O3,O1,duplicate\n")
    # when scored
    row = {r.relation: r for r in score_with_labels(RUN, labels).precision}["same_caller_same_issue"]
    # then the link counts as correct
    assert (row.links, row.correct, row.wrong, row.unjudged, row.precision) == (1, 1, 0, 0, 1.0)


def test_links_judged_wrong_by_a_not_duplicate_pair_or_an_own_case_label():
    # given O4 labelled not a duplicate of O1 (the order it matched), O6 handled as its own case,
    # O2 a duplicate without a named original, O3 unlabelled
    labels = _labels("O4,O1,not_duplicate\nO6,,not_duplicate\nO2,,duplicate\n")
    scores = score_with_labels(RUN, labels)
    rows = {r.relation: (r.links, r.correct, r.wrong, r.unjudged) for r in scores.precision}
    assert rows == {
        "exact_resubmission": (1, 1, 0, 0),
        "same_caller_same_issue": (1, 0, 0, 1),
        "other_caller_same_issue": (2, 0, 2, 0),
        "standing_case": (0, 0, 0, 0),
    }
    overall = scores.overall_precision
    assert (overall.links, overall.judged, overall.correct, overall.wrong, overall.wrong_own_case, overall.unjudged) == (4, 3, 1, 2, 1, 1)
    assert overall.precision == pytest.approx(1 / 3)
    assert [(e.order_id, e.earlier_order_id, e.relation, e.similarity, e.why) for e in scores.false_links] == [
        ("O4", "O1", "other_caller_same_issue", 0.6, "labelled not_duplicate of O1"),
        ("O6", "O5", "other_caller_same_issue", 0.5, "labelled a case of its own"),
    ]


def test_the_label_on_the_named_pair_decides_before_a_duplicate_label_elsewhere_in_the_case():
    labels = _labels("O3,O2,not_duplicate\nO3,O1,duplicate\n")
    overall = score_with_labels(RUN, labels).overall_precision
    assert (overall.correct, overall.wrong) == (0, 1)


def test_a_duplicate_of_an_order_outside_the_case_is_unjudged_and_counted_as_elsewhere():
    # given O6 labelled a duplicate of O8, but linked to O5's case
    labels = _labels("O6,O8,duplicate\n")
    scores = score_with_labels(RUN, labels)
    overall = scores.overall_precision
    assert (overall.judged, overall.unjudged, overall.other_original, overall.precision) == (0, 4, 1, None)
    # and the pair is a missed duplicate
    named = scores.recall[0]
    assert (named.group, named.labelled, named.in_events, named.recalled) == ("named original", 1, 1, 0)
    assert [(m.order_id, m.earlier_order_id, m.outcome) for m in scores.missed_duplicates] == [
        ("O6", "O8", "linked to O5 (case O5, other_caller_same_issue)")
    ]


def test_recall_of_pairs_and_of_duplicates_without_a_named_original():
    # given pairs: O4 of O2 (same case: recalled), O8 of O5 (O8 opened a case: missed),
    # O7 of O1 (O7 rejected: missed), O9 of O1 (O9 not in the events: not counted);
    # unnamed: O6 (linked: recalled), O5 (opened a case: missed)
    labels = _labels("O4,O2,duplicate\nO8,O5,duplicate\nO7,O1,duplicate\nO9,O1,duplicate\nO6,,duplicate\nO5,,duplicate\nO2,O5,not_duplicate\n")
    scores = score_with_labels(RUN, labels)
    assert [(r.group, r.labelled, r.in_events, r.recalled) for r in scores.recall] == [
        ("named original", 4, 3, 1),
        ("appeals with named originals", 4, 3, 1),
        ("original not named", 2, 2, 1),
        ("original not in the events", 0, 0, 0),
    ]
    assert scores.recall[0].recall == pytest.approx(1 / 3)
    assert [(m.order_id, m.earlier_order_id, m.outcome) for m in scores.missed_duplicates] == [
        ("O8", "O5", "opened a case of its own"),
        ("O7", "O1", "rejected (non_actionable)"),
        ("O5", None, "opened a case of its own"),
    ]
    assert (scores.labels, scores.labels_about_orders_not_in_events) == (7, 1)


def test_an_appeal_with_several_labelled_originals_is_recalled_once_one_is_in_its_case():
    # given O8 labelled a duplicate of O5 and of O1, but linked nowhere; O3 labelled a
    # duplicate of O1 (in its case) and of O5 (not)
    labels = _labels("O8,O5,duplicate\nO8,O1,duplicate\nO3,O1,duplicate\nO3,O5,duplicate\n")
    rows = {r.group: (r.labelled, r.in_events, r.recalled) for r in score_with_labels(RUN, labels).recall}
    assert rows["named original"] == (4, 4, 1)
    assert rows["appeals with named originals"] == (2, 2, 1)


def test_duplicates_whose_original_is_not_in_the_events_count_whether_they_were_linked_at_all():
    # given O2 (linked) and O8 (opened a case) labelled duplicates of orders outside the file
    labels = _labels("O2,X1,duplicate\nO8,X2,duplicate\n")
    scores = score_with_labels(RUN, labels)
    assert [(r.group, r.labelled, r.in_events, r.recalled) for r in scores.recall] == [
        ("named original", 2, 0, 0),
        ("appeals with named originals", 2, 0, 0),
        ("original not named", 0, 0, 0),
        ("original not in the events", 2, 2, 1),
    ]
    assert scores.missed_duplicates == ()


def test_labelled_appeals_rejected_or_flagged_are_listed_rejections_first():
    # given O3 (flagged) and O7 (rejected) handled by the source as cases of their own, O2 a duplicate
    labels = _labels("O3,,not_duplicate\nO7,,not_duplicate\nO2,O1,duplicate\n")
    scores = score_with_labels(RUN, labels, examples=5)
    assert [(r.group, r.accepted, r.flagged, r.rejected) for r in scores.labelled_verdicts] == [("own case", 0, 1, 1), ("duplicate", 1, 0, 0)]
    assert [(w.order_id, w.status, w.reasons) for w in scores.wrong_verdicts] == [
        ("O7", "rejected", ("non_actionable",)),
        ("O3", "flagged", ("frequent_caller",)),
    ]
    assert len(score_with_labels(RUN, labels, examples=1).wrong_verdicts) == 1


def test_label_files_allow_comments_and_reject_bad_rows():
    labels = read_labels("# made by hand\n# ids only\n" + HEADER + "B2,B1,duplicate\nB3,,not_duplicate\n\n", "l.csv")
    assert [(l.order_id, l.earlier_order_id, l.duplicate) for l in labels] == [("B2", "B1", True), ("B3", None, False)]
    with pytest.raises(LabelFileError, match=r"l.csv:2: label must be duplicate or not_duplicate, got 'dup'"):
        read_labels(HEADER + "B2,B1,dup\n", "l.csv")
    with pytest.raises(LabelFileError, match=r"l.csv:1: header must be"):
        read_labels("id,earlier,label\n", "l.csv")
    with pytest.raises(LabelFileError, match="pair B2,B1 is labelled both"):
        Labels.of(read_labels(HEADER + "B2,B1,duplicate\nB2,B1,not_duplicate\n", "l.csv"))


# --- the command over a hand-made events file --------------------------------------------

CITY_DISTRICT = "江北区"  # one of the shipped config's districts
LEAK = "楼道里的水管一直在漏水，地面积水很深，老人走路容易滑倒。"
STREETLIGHT = "小区北门外的路灯坏了一个多星期，晚上回家一片漆黑。"


def _appeal(order_id: str, minute: int, caller: str, text: str, address: str) -> dict:
    return {
        "event_id": f"test:{order_id}:appeal.received",
        "type": "appeal.received",
        "order_id": order_id,
        "occurred_at": f"2026-02-02T10:{minute:02d}:00+08:00",
        "schema": 1,
        "data": {
            "channel": "phone",
            "caller_id": caller,
            "title": text[:8],
            "text": text,
            "category": "water",
            "urgency": "normal",
            "location": {"district": CITY_DISTRICT, "street": "和平街道", "community": "春晖社区", "address": address},
        },
    }


# An importer writes a row repeated in a source file as "<id>~2": exact resubmissions whose
# labels name the first row as the original.
EVENTS = [
    _appeal("R1", 0, "13900000001", LEAK, "江北区中山路12号1栋"),
    _appeal("R2", 3, "13900000002", STREETLIGHT, "江北区人民路8号"),
    _appeal("R1~2", 6, "13900000001", LEAK, "江北区中山路12号1栋"),
    _appeal("R2~2", 9, "13900000002", STREETLIGHT, "江北区人民路8号"),
]
LABELS = "# exact repeats of rows, made by hand\n" + HEADER + "R1~2,R1,duplicate\nR2~2,R2,duplicate\nR2,,not_duplicate\n"


def _files(tmp_path: Path) -> tuple[Path, Path]:
    events = tmp_path / "events.jsonl"
    labels = tmp_path / "labels.csv"
    events.write_bytes(b"".join(orjson.dumps(event) + b"\n" for event in EVENTS))
    labels.write_text(LABELS, encoding="utf-8")
    return events, labels


def test_cli_scores_exact_repeats_of_rows_as_json(tmp_path: Path):
    events, labels = _files(tmp_path)
    result = CliRunner().invoke(evaluate_group, ["real", "--events", str(events), "--labels", str(labels), "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["verdicts_by_status"] == {"accepted": 4, "flagged": 0, "rejected": 0}
    assert document["links_by_relation"] == {"exact_resubmission": 2, "same_caller_same_issue": 0, "other_caller_same_issue": 0, "standing_case": 0}
    overall = document["precision_overall"]
    assert (overall["links"], overall["correct"], overall["wrong"], overall["precision"]) == (2, 2, 0, 1.0)
    assert document["recall"][0] == {"group": "named original", "labelled": 2, "in_events": 2, "recalled": 2, "recall": 1.0}
    assert document["labelled_verdicts"][0] == {"group": "own case", "accepted": 1, "flagged": 0, "rejected": 0}
    assert document["examples"] == {"false_links": [], "missed_duplicates": [], "wrong_verdicts": []}
    assert document["appeals"] == 4 and document["appeals_per_second"] > 0


def test_cli_prints_tables_with_ids_only_unless_asked_for_text(tmp_path: Path):
    events, labels = _files(tmp_path)
    # given a label that calls the second leak report a separate issue
    labels.write_text(HEADER + "R1~2,R1,not_duplicate\n", encoding="utf-8")
    result = CliRunner().invoke(evaluate_group, ["real", "--events", str(events), "--labels", str(labels)])
    assert result.exit_code == 0, result.output
    assert "R1~2 -> R1  exact_resubmission  similarity 1.000  (labelled not_duplicate of R1)" in result.output
    assert LEAK[:8] not in result.output
    assert "appeals/s" in result.output
    shown = CliRunner().invoke(evaluate_group, ["real", "--events", str(events), "--labels", str(labels), "--show-text"])
    assert f"R1~2 «{LEAK[:8]}» -> R1 «{LEAK[:8]}»" in shown.output


def test_cli_without_labels_and_with_a_broken_label_file(tmp_path: Path):
    events, labels = _files(tmp_path)
    plain = CliRunner().invoke(evaluate_group, ["real", "--events", str(events)])
    assert plain.exit_code == 0, plain.output
    assert "Links by relation" in plain.output and "Precision" not in plain.output
    labels.write_text(HEADER + "R1~2,R1,maybe\n", encoding="utf-8")
    broken = CliRunner().invoke(evaluate_group, ["real", "--events", str(events), "--labels", str(labels)])
    assert broken.exit_code == 2
    assert f"{labels}:2: label must be duplicate or not_duplicate, got 'maybe'" in broken.output


def test_cli_scores_verdict_reasons_against_flag_labels(tmp_path: Path):
    # given the two leak reports, the second one with a curse, and a reader who agrees it is abusive
    events = tmp_path / "events.jsonl"
    cursing = _appeal("R1~2", 6, "13900000001", LEAK + "物业都是一群废物！", "江北区中山路12号1栋")
    events.write_bytes(b"".join(orjson.dumps(event) + b"\n" for event in (EVENTS[0], cursing)))
    flags = tmp_path / "flags.csv"
    flags.write_text("# read by hand\norder_id,reason,agree\nR1~2,abusive_content,yes\nR1,emergency_service,no\n", encoding="utf-8")
    # when the run is scored with the flag labels
    result = CliRunner().invoke(evaluate_group, ["real", "--events", str(events), "--flag-labels", str(flags), "--json"])
    # then the one abusive flag is judged and agreed with, and the unflagged R1 counts nowhere
    assert result.exit_code == 0, result.output
    rows = {row["reason"]: (row["given"], row["judged"], row["agreed"], row["precision"]) for row in json.loads(result.output)["reason_precision"]}
    assert rows["abusive_content"] == (1, 1, 1, 1.0)
    assert rows["emergency_service"] == (0, 0, 0, None)
    assert rows["any"] == (1, 1, 1, 1.0)
