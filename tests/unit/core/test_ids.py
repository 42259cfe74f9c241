"""Derived event ids are the uuid5 of kind and cause in the product's namespace."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.core.ids import HOTLINE_NAMESPACE, derived_event_id


@pytest.mark.parametrize(
    ("caused_by", "kind", "event_id"),
    [
        ("src:GD-1", "screened", "554261b7-7d7b-5407-a1a1-1f2f7051c026"),
        ("京A-12345:订单", "deadline.warning:0.5", "bfb7448b-0cfe-5614-9efb-c463704eb6de"),
    ],
)
def test_a_derived_id_never_changes(caused_by: str, kind: str, event_id: str):
    assert derived_event_id(caused_by, kind) == event_id
    assert uuid.UUID(event_id).version == 5


TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)))


@given(caused_by=TEXT, kind=TEXT)
def test_derived_ids_equal_the_standard_uuid5(caused_by: str, kind: str):
    assert derived_event_id(caused_by, kind) == str(uuid.uuid5(HOTLINE_NAMESPACE, f"{kind}\x1f{caused_by}"))
