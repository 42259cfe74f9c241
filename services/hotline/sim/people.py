"""Callers of the simulated city: mobile numbers and resident ID-card numbers.

Consumes a seeded random generator. Produces mainland mobile numbers (caller ids, and
the numbers callers sometimes say in their text) and 18-digit resident ID-card numbers
whose check character is valid (GB 11643), so that redaction is tested on realistic data.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

_MOBILE_PREFIXES = ("130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "155", "158", "159", "177", "180", "186", "187", "188", "189", "199")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARACTERS = "10X98765432"
# Administrative division codes of the kind that open real ID numbers (province, city, county).
_DIVISION_CODES = ("420102", "420106", "430104", "110105", "320106", "440106", "510107", "330106", "410105", "370102")
_EARLIEST_BIRTH = date(1950, 1, 1)
_BIRTH_SPAN_DAYS = (date(2005, 12, 31) - _EARLIEST_BIRTH).days


def id_check_character(first_17_digits: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(first_17_digits, _ID_WEIGHTS))
    return _ID_CHECK_CHARACTERS[total % 11]


def id_card_number(rng: random.Random) -> str:
    birth = _EARLIEST_BIRTH + timedelta(days=rng.randrange(_BIRTH_SPAN_DAYS))
    body = f"{rng.choice(_DIVISION_CODES)}{birth:%Y%m%d}{rng.randrange(1000):03d}"
    return body + id_check_character(body)


class PhoneBook:
    """Hands out mobile numbers that no earlier caller of the run has."""

    def __init__(self, rng: random.Random):
        self._rng = rng
        self._issued: set[str] = set()

    def new_number(self) -> str:
        while True:
            number = f"{self._rng.choice(_MOBILE_PREFIXES)}{self._rng.randrange(10**8):08d}"
            if number not in self._issued:
                self._issued.add(number)
                return number
