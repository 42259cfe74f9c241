"""Cleaning of single CSV cell values into the forms the event contract accepts.

Consumes raw cell strings; produces whitespace-normalised text, snake_case categories,
office slugs and values clipped to the contract's length limits.
"""

from __future__ import annotations

import re

_NOT_WORD = re.compile(r"[\W_]+")
_NOT_OFFICE_CHARACTER = re.compile(r"[^a-z0-9_.:-]+")
_SPACED_DASH = re.compile(r"\s+-\s+")
OFFICE_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_ELLIPSIS = "…"


def clean_text(raw: str | None) -> str:
    """Trim and collapse runs of whitespace: exports pad cells and double spaces
    ("42 Cross St  Boston  MA"), which would otherwise defeat text similarity."""
    if raw is None:
        return ""
    return " ".join(raw.split())


def category_slug(text: str) -> str:
    """snake_case of a category name: "Noise - Residential" -> "noise_residential".

    Letters of any script survive (a 12345 export's "噪音扰民" stays as it is), so
    only punctuation and spacing differences between spellings disappear
    ("PAINT/PLASTER" and "PAINT - PLASTER" both become "paint_plaster").
    """
    return _NOT_WORD.sub("_", text.casefold()).strip("_")


def office_slug(text: str) -> str:
    """An office id from an agency or department code: "NYPD" -> "nypd", "GEN_" -> "gen",
    "CDOT - Department of Transportation" -> "cdot-department_of_transportation".

    Returns "" when nothing usable remains (e.g. a name in a non-Latin script); a
    mapping's `office.values` table names such offices explicitly.
    """
    return _NOT_OFFICE_CHARACTER.sub("_", _SPACED_DASH.sub("-", text.lower())).strip("_")


def clip(text: str, max_characters: int) -> str:
    """`text` cut to the contract's limit, marked with an ellipsis when something was cut."""
    if len(text) <= max_characters:
        return text
    return text[: max_characters - 1] + _ELLIPSIS
