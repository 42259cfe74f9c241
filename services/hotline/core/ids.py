"""Deterministic identities of derived events.

A derived event's id is the uuid5 of what caused it and what kind of output it is, so
redelivery and replay of the same input never create a new identity.
"""

from __future__ import annotations

import uuid

# Fixed namespace of this product; changing it would change every derived id.
HOTLINE_NAMESPACE = uuid.UUID("6f1c3a52-2d0e-5b8a-9c47-12345d311a00")


def derived_event_id(caused_by: str, kind: str) -> str:
    return str(uuid.uuid5(HOTLINE_NAMESPACE, f"{kind}\x1f{caused_by}"))
