"""The worker's office registry: records folded from hotline.offices.v1, and the levels
the rates stage reads on every message."""

from __future__ import annotations

from hotline.contract import codec
from hotline.stream.offices import OfficeRegistry


def office(office_id: str, level: str, parent_id: str | None = "city") -> bytes:
    return codec.encode({"office_id": office_id, "name": office_id, "level": level, "daily_capacity": 10, "parent_id": parent_id})


def test_levels_follow_every_upsert_and_tombstone():
    registry = OfficeRegistry()
    registry.apply(b"city", office("city", "city", None))
    registry.apply(b"dept-water", office("dept-water", "department"))
    assert registry.levels() == {"city": "city", "dept-water": "department"}
    # a level changes, an office leaves, another comes
    registry.apply(b"dept-water", office("dept-water", "district"))
    assert registry.levels() == {"city": "city", "dept-water": "district"}
    registry.apply(b"city", None)
    registry.apply(b"dept-roads", office("dept-roads", "department"))
    assert registry.levels() == {"dept-water": "district", "dept-roads": "department"}


def test_levels_are_kept_until_the_registry_changes_and_an_invalid_record_changes_nothing():
    registry = OfficeRegistry()
    registry.apply(b"dept-water", office("dept-water", "department"))
    levels = registry.levels()
    assert registry.levels() is levels
    registry.apply(b"dept-roads", b"not json")
    registry.apply(b"dept-roads", office("dept-other", "department"))  # key and id disagree
    assert (registry.levels() is levels, registry.rejected) == (True, 2)
    registry.apply(b"dept-roads", office("dept-roads", "department"))
    assert registry.levels() == {"dept-water": "department", "dept-roads": "department"}
