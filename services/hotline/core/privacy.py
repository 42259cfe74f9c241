"""Personal data handling: keyed caller pseudonyms and redaction of phone / ID numbers.

Consumes raw caller ids and free text; produces pseudonyms (stable per key, not
reversible without it) and text with personal numbers replaced by placeholders.
"""

from __future__ import annotations

import hashlib
import hmac
import re

PHONE_PLACEHOLDER = "[phone]"
ID_NUMBER_PLACEHOLDER = "[id-number]"

# Order matters: ID-card numbers are longer digit runs that contain phone-like runs.
_ID_NUMBER = re.compile(
    r"(?<![0-9A-Za-z])("
    r"[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]"  # PRC 18-digit
    r"|[1-9]\d{7}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}"  # PRC 15-digit (pre-1999)
    r"|\d{3}-\d{2}-\d{4}"  # US social security number
    r")(?![0-9A-Za-z])"
)
_PHONE = re.compile(
    r"(?<![0-9])("
    r"(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}"  # PRC mobile
    r"|0\d{2,3}[- ]?\d{7,8}"  # PRC landline with area code
    r"|(?:\+?1[-. ]?)?\(?[2-9]\d{2}\)?[-. ]?\d{3}[-. ]?\d{4}"  # North American
    r")(?![0-9])"
)


def redact(text: str) -> str:
    """Replace phone and ID-card numbers in free text with placeholders."""
    return _PHONE.sub(PHONE_PLACEHOLDER, _ID_NUMBER.sub(ID_NUMBER_PLACEHOLDER, text))


def pseudonymize(caller_id: str, key: bytes) -> str:
    """A keyed, stable pseudonym for a caller id (HMAC-SHA256, 80 bits shown)."""
    normalized = re.sub(r"[\s()+.-]", "", caller_id)
    digest = hmac.new(key, normalized.encode("utf-8"), hashlib.sha256).hexdigest()
    return "c_" + digest[:20]
