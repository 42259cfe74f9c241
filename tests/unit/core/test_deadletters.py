"""Dead-letter records keep the original bytes, bounded, and a stable identity."""

from __future__ import annotations

import base64

from hotline.contract.schemas import topic_validator
from hotline.core.deadletters import SourcePosition, dead_letter


def test_dead_letter_is_valid_and_identified_by_its_source_position():
    position = SourcePosition("hotline.events.v1", 3, 42, b"GD-1")
    record = dead_letter(position, b"not json", stage="screen", reason="invalid_json", error="bad", input_event_id=None, max_original_bytes=1024)
    again = dead_letter(position, b"not json", stage="screen", reason="invalid_json", error="bad", input_event_id=None, max_original_bytes=1024)
    assert record == again
    assert topic_validator("hotline.deadletter.v1").validate(record) is None
    assert record["source"] == {"topic": "hotline.events.v1", "partition": 3, "offset": 42, "key_base64": "R0QtMQ=="}
    assert base64.b64decode(record["value_base64"]) == b"not json"
    assert (record["value_size_bytes"], record["value_truncated"]) == (8, False)


def test_huge_message_is_kept_truncated_so_its_dead_letter_fits_the_broker():
    record = dead_letter(SourcePosition("t", 0, 0, None), b"a" * 10_000, stage="screen", reason="too_large", error="big", input_event_id=None, max_original_bytes=100)
    assert base64.b64decode(record["value_base64"]) == b"a" * 100
    assert (record["value_size_bytes"], record["value_truncated"]) == (10_000, True)
