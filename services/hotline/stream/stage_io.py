"""What an agent does with a stage handler's steps (hotline.core.stages): store the
table writes, once the step's messages are sent (hotline.stream.write_order)."""

from __future__ import annotations

from typing import Iterable

from hotline.core.stages.state import Written


def store(table, written: Iterable[Written]) -> None:
    for write in written:
        if write.value is None:
            table.pop(write.key, None)
        else:
            table[write.key] = write.value
