"""Caller pseudonyms and redaction of phone / ID-card numbers."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.core.privacy import ID_NUMBER_PLACEHOLDER, PHONE_PLACEHOLDER, pseudonymize, redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我的电话13812345678请回电", f"我的电话{PHONE_PLACEHOLDER}请回电"),
        ("联系 138-1234-5678", f"联系 {PHONE_PLACEHOLDER}"),
        ("+86 13912345678", PHONE_PLACEHOLDER),
        ("座机020-87654321", f"座机{PHONE_PLACEHOLDER}"),
        ("身份证号440106199001011234已提交", f"身份证号{ID_NUMBER_PLACEHOLDER}已提交"),
        ("身份证11010519491231002X", f"身份证{ID_NUMBER_PLACEHOLDER}"),
        ("call (212) 555-0147 now", f"call {PHONE_PLACEHOLDER} now"),
        ("SSN 078-05-1120", f"SSN {ID_NUMBER_PLACEHOLDER}"),
        ("华师路12号3栋402房", "华师路12号3栋402房"),
        ("2026年1月5日反映", "2026年1月5日反映"),
    ],
)
def test_redact_replaces_personal_numbers_and_keeps_addresses_and_dates(text, expected):
    assert redact(text) == expected


def _id_number(body: str) -> str:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights)) % 11]
    return body + check


mobiles = st.from_regex(r"1[3-9]\d{9}", fullmatch=True)
id_numbers = st.builds(
    lambda area, year, month, day, seq: _id_number(f"{area}{year}{month:02d}{day:02d}{seq:03d}"),
    st.integers(110000, 659999).map(str),
    st.integers(1930, 2020).map(str),
    st.integers(1, 12),
    st.integers(1, 28),
    st.integers(0, 999),
)
chinese_text = st.text(alphabet="街道小区噪音垃圾请处理反映市民，。的了在", max_size=30)


@given(before=chinese_text, number=st.one_of(mobiles, id_numbers), after=chinese_text)
def test_no_generated_phone_or_id_number_survives_redaction(before, number, after):
    redacted = redact(before + number + after)
    assert number not in redacted
    assert not re.search(r"\d{11}", redacted)


def test_pseudonym_is_stable_per_key_and_ignores_formatting():
    key = b"k" * 32
    assert pseudonymize("138 1234 5678", key) == pseudonymize("13812345678", key)
    assert pseudonymize("13812345678", key) != pseudonymize("13812345678", b"other" * 8)
    assert re.fullmatch(r"c_[0-9a-f]{20}", pseudonymize("13812345678", key))
    assert "13812345678" not in pseudonymize("13812345678", key)
