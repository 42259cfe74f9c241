"""Verdict reasons scored against hand labels of whether a reader agrees with them."""

from __future__ import annotations

import pytest

from hotline.core.screen_rules import Verdict
from hotline.evaluation.flag_labels import read_flag_labels, score_reasons
from hotline.evaluation.labels import LabelFileError

LABELS = """# read by hand
order_id,reason,agree
A1,litigation_or_arbitration,yes
A2,litigation_or_arbitration,no
A3,emergency_service,no
A4,abusive_content,yes
"""


def test_each_reason_given_is_judged_by_its_label_and_unlabelled_ones_are_counted_apart():
    # given verdicts: two litigation flags a reader judged (one right), one unlabelled, an
    # abusive flag agreed with, and an emergency label for an appeal the rules no longer flag
    verdicts = {
        "A1": Verdict("flagged", ("litigation_or_arbitration",)),
        "A2": Verdict("flagged", ("litigation_or_arbitration", "abusive_content")),
        "A4": Verdict("flagged", ("abusive_content",)),
        "A5": Verdict("flagged", ("litigation_or_arbitration",)),
        "A6": Verdict("accepted", ()),
    }
    rows = {row.reason: (row.given, row.judged, row.agreed, row.precision) for row in score_reasons(verdicts, read_flag_labels(LABELS, "f.csv"))}
    # then litigation: 3 given, 2 judged, 1 agreed; abusive: 2 given, 1 judged (A2's is unlabelled)
    assert rows["litigation_or_arbitration"] == (3, 2, 1, 0.5)
    assert rows["abusive_content"] == (2, 1, 1, 1.0)
    assert rows["emergency_service"] == (0, 0, 0, None)
    assert rows["any"] == (5, 3, 2, pytest.approx(2 / 3))


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("order_id,reason\nA1,abusive_content\n", "f.csv:1: header must be order_id,reason,agree, got order_id,reason"),
        ("order_id,reason,agree\nA1,spam,yes\n", "f.csv:2: unknown reason 'spam'"),
        ("order_id,reason,agree\nA1,abusive_content,maybe\n", "f.csv:2: agree must be yes or no, got 'maybe'"),
        ("order_id,reason,agree\nA1,abusive_content,yes\nA1,abusive_content,no\n", "f.csv:3: A1 abusive_content is labelled both yes and no"),
    ],
)
def test_a_malformed_flag_label_file_is_named_with_its_line(text, problem):
    with pytest.raises(LabelFileError) as raised:
        read_flag_labels(text, "f.csv")
    assert str(raised.value) == problem
