"""Copies of frozen records: the same records dataclasses.replace and the constructor give."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pytest

from hotline.core.records import built, evolved


@dataclass(frozen=True)
class Stint:
    office_id: str
    signed: bool = False
    notes: tuple[str, ...] = ()
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Checked:
    value: int

    def __post_init__(self) -> None:
        if self.value < 0:
            raise ValueError("negative")


def test_evolved_is_the_record_replace_gives():
    stint = Stint("c-1", notes=("a",))
    copy = evolved(stint, signed=True)
    assert copy == replace(stint, signed=True) == Stint("c-1", True, ("a",))
    assert stint == Stint("c-1", notes=("a",))  # the original is left as it was
    with pytest.raises(AttributeError):
        copy.signed = False  # still frozen


def test_evolved_refuses_unknown_fields_and_records_with_their_own_checks():
    with pytest.raises(TypeError, match="no fields"):
        evolved(Stint("c-1"), signd=True)
    with pytest.raises(TypeError, match="not a plain dataclass record"):
        evolved(Checked(1), value=2)


def test_built_is_the_record_the_constructor_gives_with_fresh_default_factories():
    first, second = built(Stint, office_id="c-1"), built(Stint, office_id="c-2", signed=True)
    assert first == Stint("c-1") and second == Stint("c-2", signed=True)
    assert first.tags == [] and first.tags is not second.tags
    # a missing or unknown field fails as the constructor does
    with pytest.raises(TypeError):
        built(Stint, signed=True)
    with pytest.raises(TypeError):
        built(Stint, office_id="c-1", signd=True)


@dataclass(frozen=True)
class Private:
    _value: int


def test_built_refuses_field_names_its_generated_function_may_use():
    with pytest.raises(TypeError, match="built function"):
        built(Private, _value=1)
