"""Deterministic identities of derived events.

A derived event's id is the uuid5 of what caused it and what kind of output it is, so
redelivery and replay of the same input never create a new identity.
"""

from __future__ import annotations

import hashlib
import uuid

# Fixed namespace of this product; changing it would change every derived id.
HOTLINE_NAMESPACE = uuid.UUID("6f1c3a52-2d0e-5b8a-9c47-12345d311a00")
_NAMESPACE_BYTES = HOTLINE_NAMESPACE.bytes


def derived_event_id(caused_by: str, kind: str) -> str:
    """str(uuid.uuid5(HOTLINE_NAMESPACE, f"{kind}\\x1f{caused_by}")), without building a UUID
    object: this runs for every derived event."""
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + f"{kind}\x1f{caused_by}".encode("utf-8")).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
