"""Dead-letter records: what could not be processed, where it came from, and why.

Consumes the position, bytes and rejection of a message a stage could not process;
produces the hotline.deadletter.v1 record. With a pseudonym key the record keeps the
original bytes with personal data taken out (`redact_original`): a malformed message is
not screened, so its phone and ID numbers and caller id would otherwise reach the
dead-letter topic verbatim.
"""

from __future__ import annotations

import base64
import codecs
import json
import re
from dataclasses import dataclass
from typing import Any

from hotline.core.ids import derived_event_id
from hotline.core.privacy import pseudonymize, redact

# A caller_id string value, closed or cut off by truncation; group 2 is the value as written.
_CALLER_ID_VALUE = re.compile(r'("caller_id"\s*:\s*")((?:[^"\\]|\\.)*)')
# Events of later stages carry caller ids the screen stage already pseudonymised.
_PSEUDONYM = re.compile(r"c_[0-9a-f]{20}")
# Wider than UTF-8 (the fuzzer's wrong_encoding is UTF-16): decoded with their own codec,
# redacted and encoded back, BOM first, so the record still shows the encoding at fault.
# UTF-32 LE's mark begins with UTF-16 LE's, so it is tried first.
_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


@dataclass(frozen=True)
class SourcePosition:
    topic: str
    partition: int
    offset: int
    key: bytes | None

    @property
    def label(self) -> str:
        return f"{self.topic}/{self.partition}/{self.offset}"


def _caller_pseudonym(written: str, pseudonym_key: bytes) -> str:
    try:
        caller_id = json.loads(f'"{written}"')
    except ValueError:  # cut inside an escape sequence
        caller_id = written
    return caller_id if _PSEUDONYM.fullmatch(caller_id) else pseudonymize(caller_id, pseudonym_key)


def _redact_text(text: str, pseudonym_key: bytes) -> str:
    """Caller ids pseudonymised, phone and ID numbers elsewhere replaced by placeholders.

    Caller ids are cut out before the rest is redacted so a pseudonym's hex digits are
    never mistaken for a phone number.
    """
    pieces = []
    previous = 0
    for match in _CALLER_ID_VALUE.finditer(text):
        pieces.append(redact(text[previous : match.start(2)]))
        pieces.append(_caller_pseudonym(match.group(2), pseudonym_key))
        previous = match.end(2)
    pieces.append(redact(text[previous:]))
    return "".join(pieces)


def redact_original(value: bytes, pseudonym_key: bytes) -> bytes:
    """The bytes of a message with phone and ID numbers redacted and caller ids pseudonymised.

    Everything else is kept byte for byte, so the record still shows what was wrong:
    bytes that are not UTF-8 stay as they were (surrogate escapes), truncated or broken
    JSON stays broken, and a caller_id string is replaced by its pseudonym (the one the
    screen stage would have given it) wherever it appears, parsed or not. Text that
    starts with a UTF-16 or UTF-32 byte order mark and decodes as such is redacted in
    that encoding too.
    """
    for mark, encoding in _BYTE_ORDER_MARKS:
        if value.startswith(mark):
            try:
                text = value[len(mark) :].decode(encoding)
            except UnicodeDecodeError:
                break
            value = mark + _redact_text(text, pseudonym_key).encode(encoding)
            break
    # Always, even after a byte order mark: bytes that merely decode as UTF-16 may hide
    # ASCII digits that no UTF-16 reading shows.
    text = value.decode("utf-8", errors="surrogateescape")
    return _redact_text(text, pseudonym_key).encode("utf-8", errors="surrogateescape")


def dead_letter(
    source: SourcePosition,
    value: bytes | None,
    *,
    stage: str,
    reason: str,
    error: str,
    input_event_id: str | None,
    max_original_bytes: int,
    pseudonym_key: bytes | None = None,
) -> dict[str, Any]:
    """Build the dead-letter record for one message.

    The original bytes are kept (base64) up to `max_original_bytes`, so a huge poisoned
    message cannot make its own dead letter too large for the broker. With
    `pseudonym_key`, the bytes, key and error text are redacted first (`redact_original`;
    redacting before truncating, so no number is cut in half and left readable);
    `value_size_bytes` stays the size of the message as received.
    """
    original = value or b""
    shown, key = original, source.key
    if pseudonym_key is not None:
        shown = redact_original(original, pseudonym_key)
        key = redact_original(key, pseudonym_key) if key is not None else None
        error = redact(error)
    kept = shown[:max_original_bytes]
    return {
        "event_id": derived_event_id(source.label, f"deadletter.{stage}"),
        "source": {
            "topic": source.topic,
            "partition": source.partition,
            "offset": source.offset,
            "key_base64": base64.b64encode(key).decode("ascii") if key is not None else None,
        },
        "stage": stage,
        "reason": reason,
        "error": error[:2000],
        "input_event_id": input_event_id,
        "value_base64": base64.b64encode(kept).decode("ascii"),
        "value_size_bytes": len(original),
        "value_truncated": len(kept) < len(shown),
    }
