"""Web views routed to the worker that owns a table key, found by the key's topic bytes.

faust-streaming 0.15's `faust.app.router.Router` finds the owner of a table key by
hashing the key as the table's changelog serializes it: JSON for a str key, so
`GD2026030200002` is hashed as `"GD2026030200002"` with its quotes. Every entry of the
project's tables is written in the partition of the input message that changed it, and
those topics are keyed by the raw UTF-8 id, so the two hashes name different partitions:
with several workers `/orders/{id}/` and `/offices/{id}/` were sent to a worker that did
not hold the key and answered 404 (with one worker every route is local, which hid it).
`Router` hashes the raw bytes, as the producers of the topics do.

Measured by `tests/reliability/test_partitions.py` (three workers serve every order) and
`tests/unit/stream/test_key_routing.py` (the partition each router names).
"""

from __future__ import annotations

from typing import Any

from faust.app.router import Router as FaustRouter


class Router(FaustRouter):
    @classmethod
    def _get_serialized_key(cls, table: Any, key: Any) -> bytes:
        return key.encode("utf-8") if isinstance(key, str) else key
