"""Label rules of the 311 presets on hand-written closure reasons, notes and flags."""

from __future__ import annotations

import pytest

from hotline.importers.labels import boston311_label, chicago311_label, sf311_label
from hotline.importers.mapping import SourceLabel

DUPLICATE_OF = lambda earlier="": SourceLabel("duplicate", earlier)  # noqa: E731
NOT_DUPLICATE = SourceLabel("not_duplicate")


@pytest.mark.parametrize(
    ("status", "reason", "label"),
    [
        ("Closed", "Case Closed. Closed date : 2021-05-04 10:00:00 Duplicate of Existing Case", DUPLICATE_OF()),
        ("Closed", "Case Closed Duplicate of Existing Case see 101003999001 for the crew", DUPLICATE_OF("101003999001")),
        ("Closed", "Noted. This pothole was already reported, dupe of case#101004000123.", DUPLICATE_OF("101004000123")),
        # a 7-digit inspection number is another system's id, not a Boston case
        ("Closed", "Duplicate of Existing Case inspection requested 4455667", DUPLICATE_OF()),
        ("Closed", "Case Closed. Closed date : 2021-05-04 10:00:00 Case Resolved crew filled the hole", NOT_DUPLICATE),
        ("Closed", "Checked the site: not a duplicate, a second light is out", NOT_DUPLICATE),
        ("Closed", "", NOT_DUPLICATE),
        ("Open", "", None),
        ("Open", "Duplicate of Existing Case", DUPLICATE_OF()),
    ],
)
def test_boston_closure_reason_gives_the_label(status, reason, label):
    assert boston311_label(status, reason) == label


@pytest.mark.parametrize(
    ("status", "notes", "label"),
    [
        ("Closed", "Request is a duplicate and has been previously reported as 9876543", DUPLICATE_OF("9876543")),
        ("Closed", "Duplicate of 11223344", DUPLICATE_OF("11223344")),
        ("Closed", "DUPLICATE TO 7654321", DUPLICATE_OF("7654321")),
        ("Closed", "resolved: duplicate SR # 654321 already with the crew", DUPLICATE_OF("654321")),
        # RFA and SO numbers belong to the departments' own systems
        ("Closed", "Duplicate RFA see 12345678", DUPLICATE_OF()),
        ("Closed", "Your request is a duplicate of SO #765432", DUPLICATE_OF()),
        ("Closed", "closedduplicate", DUPLICATE_OF()),
        ("Closed", "per the crew - dupe", DUPLICATE_OF()),
        # "board up" written as one word is not a short form of duplicate
        ("Closed", "BOARDUP done by the contractor", NOT_DUPLICATE),
        ("Closed", "Case resolved, graffiti removed", NOT_DUPLICATE),
        ("Open", "", None),
    ],
)
def test_san_francisco_status_notes_give_the_label(status, notes, label):
    assert sf311_label(status, notes) == label


@pytest.mark.parametrize(
    ("status", "duplicate", "parent", "label"),
    [
        ("Canceled", "true", "SR23-00000001", DUPLICATE_OF("SR23-00000001")),
        ("Completed", "TRUE", "", DUPLICATE_OF()),
        ("Open", "true", "SR23-00000001", DUPLICATE_OF("SR23-00000001")),
        ("Completed", "false", "", NOT_DUPLICATE),
        # a parent without the duplicate flag is a child request, not a repeat
        ("Completed", "false", "SR23-00000001", NOT_DUPLICATE),
        ("Open", "false", "", None),
    ],
)
def test_chicago_duplicate_flag_and_parent_give_the_label(status, duplicate, parent, label):
    assert chicago311_label(status, duplicate, parent) == label
