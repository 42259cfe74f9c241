"""JSON encoding of every message the processor writes.

Keys are sorted so that the same event always encodes to the same bytes: replays and
redeliveries are byte-identical, and tests can compare bytes.
"""

from __future__ import annotations

from typing import Any

import orjson

_OPTIONS = orjson.OPT_SORT_KEYS


def encode(value: Any) -> bytes:
    return orjson.dumps(value, option=_OPTIONS)


def decode(raw: bytes | str) -> Any:
    return orjson.loads(raw)
