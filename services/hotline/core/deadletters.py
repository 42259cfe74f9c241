"""Dead-letter records: what could not be processed, where it came from, and why."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from hotline.core.ids import derived_event_id


@dataclass(frozen=True)
class SourcePosition:
    topic: str
    partition: int
    offset: int
    key: bytes | None

    @property
    def label(self) -> str:
        return f"{self.topic}/{self.partition}/{self.offset}"


def dead_letter(
    source: SourcePosition,
    value: bytes | None,
    *,
    stage: str,
    reason: str,
    error: str,
    input_event_id: str | None,
    max_original_bytes: int,
) -> dict[str, Any]:
    """Build the dead-letter record for one message.

    The original bytes are kept (base64) up to `max_original_bytes`, so a huge poisoned
    message cannot make its own dead letter too large for the broker.
    """
    original = value or b""
    kept = original[:max_original_bytes]
    return {
        "event_id": derived_event_id(source.label, f"deadletter.{stage}"),
        "source": {
            "topic": source.topic,
            "partition": source.partition,
            "offset": source.offset,
            "key_base64": base64.b64encode(source.key).decode("ascii") if source.key is not None else None,
        },
        "stage": stage,
        "reason": reason,
        "error": error[:2000],
        "input_event_id": input_event_id,
        "value_base64": base64.b64encode(kept).decode("ascii"),
        "value_size_bytes": len(original),
        "value_truncated": len(kept) < len(original),
    }
