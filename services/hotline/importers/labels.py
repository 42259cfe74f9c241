"""Duplicate labels from the marks 311 exports put on their own cases.

Consumes the cells a preset's rule reads (status, closure reason, status notes, the
duplicate flag and parent number); produces a `SourceLabel` (`duplicate` of an earlier
case id, or "" when the source does not name it; `not_duplicate`) or None when the
source says nothing yet: an open case may still be closed as a duplicate, so only closed
cases are labelled `not_duplicate`. `hotline import <preset> --labels-out` writes them in
the shared label format (order_id, earlier_order_id, label).

Pure string rules, one per source:
- Boston: the closure reason. "Duplicate of Existing Case" and any other mention of a
  duplicate; the earlier case is a Boston case number (12 digits starting 101) in the
  text. Inspection and work-order numbers elsewhere in the text are other systems' ids.
- San Francisco: the status notes. "previously reported as N", "duplicate of N",
  "duplicate to N" and "SR # N" name the earlier request; numbers after RFA, SO, HUB,
  CCSF and the like belong to the departments' own systems and are not used.
- Chicago: DUPLICATE true/false and PARENT_SR_NUMBER.
"""

from __future__ import annotations

import re

from hotline.importers.mapping import SourceLabel

DUPLICATE = "duplicate"
NOT_DUPLICATE = "not_duplicate"

# "duplicate" anywhere (notes run words together: "closedduplicate"); the short forms
# only as words of their own, or every "board up" written "BOARDUP" would count.
_MENTIONS_DUPLICATE = re.compile(r"duplicat|\bdupe?s?\b", re.IGNORECASE)
_DENIES_DUPLICATE = re.compile(r"\bnot\s+(a\s+)?dup(e|licate)?\b", re.IGNORECASE)
_BOSTON_CASE_ID = re.compile(r"(?<!\d)(101\d{9})(?!\d)")
_SF_EARLIER_REQUEST = re.compile(
    r"(?:previously\s+reported\s+as|duplicate\s+(?:of|to)|\bSR\s*#?)\s*#?\s*(\d{6,8})(?!\d)",
    re.IGNORECASE,
)


def _is_closed(status: str, closed_statuses: tuple[str, ...]) -> bool:
    return status.casefold() in closed_statuses


def _mentions_duplicate(text: str) -> bool:
    return bool(_MENTIONS_DUPLICATE.search(text)) and not _DENIES_DUPLICATE.search(text)


def boston311_label(case_status: str, closure_reason: str) -> SourceLabel | None:
    """Boston: a closure reason mentioning a duplicate, with the earlier case number it names."""
    if _mentions_duplicate(closure_reason):
        earlier = _BOSTON_CASE_ID.search(closure_reason)
        return SourceLabel(DUPLICATE, earlier.group(1) if earlier else "")
    if _is_closed(case_status, ("closed",)):
        return SourceLabel(NOT_DUPLICATE)
    return None


def sf311_label(status: str, status_notes: str) -> SourceLabel | None:
    """San Francisco: status notes mentioning a duplicate, with the earlier request number."""
    if _mentions_duplicate(status_notes):
        earlier = _SF_EARLIER_REQUEST.search(status_notes)
        return SourceLabel(DUPLICATE, earlier.group(1) if earlier else "")
    if _is_closed(status, ("closed",)):
        return SourceLabel(NOT_DUPLICATE)
    return None


def chicago311_label(status: str, duplicate: str, parent_sr_number: str) -> SourceLabel | None:
    """Chicago: the DUPLICATE flag, and the parent request it was merged into."""
    if duplicate.casefold() == "true":
        return SourceLabel(DUPLICATE, parent_sr_number)
    if _is_closed(status, ("completed", "canceled", "cancelled")):
        return SourceLabel(NOT_DUPLICATE)
    return None
