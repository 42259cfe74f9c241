"""Copies of frozen records with some fields changed, cheaper than dataclasses.replace.

The order fold builds a new record per event and per step (an order, its office
history, its deadline state, its marks); `dataclasses.replace` re-runs the generated
`__init__`, which sets every field one by one through `object.__setattr__`. A record
class without `__post_init__`, `InitVar`s or `init=False` fields is fully described by
its attributes, so copying them and overwriting the changed ones gives the same record.
"""

from __future__ import annotations

from dataclasses import MISSING, fields, is_dataclass
from typing import Any, TypeVar

Record = TypeVar("Record")

_FIELD_NAMES: dict[type, frozenset[str]] = {}


def _field_names(cls: type) -> frozenset[str]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        if not is_dataclass(cls) or hasattr(cls, "__post_init__") or hasattr(cls, "__slots__"):
            raise TypeError(f"{cls.__name__} is not a plain dataclass record")
        if any(not field.init for field in fields(cls)):
            raise TypeError(f"{cls.__name__} has fields its constructor does not set")
        names = _FIELD_NAMES[cls] = frozenset(field.name for field in fields(cls))
    return names


def evolved(record: Record, **changes: Any) -> Record:
    """`record` with `changes` (dataclasses.replace for plain frozen records)."""
    cls = type(record)
    if not changes.keys() <= _field_names(cls):
        unknown = sorted(changes.keys() - _field_names(cls))
        raise TypeError(f"{cls.__name__} has no fields {unknown}")
    copy = object.__new__(cls)
    attributes = copy.__dict__
    attributes.update(record.__dict__)
    attributes.update(changes)
    return copy


class _Layout:
    """What `built` needs of a record class: its field names, the ones without a
    default, the default values and the default factories."""

    def __init__(self, cls: type):
        names = _field_names(cls)
        self.names = names
        self.defaults = {field.name: field.default for field in fields(cls) if field.default is not MISSING}
        self.factories = tuple((field.name, field.default_factory) for field in fields(cls) if field.default_factory is not MISSING)
        self.required = names - self.defaults.keys() - {name for name, _ in self.factories}


_LAYOUTS: dict[type, _Layout] = {}


def built(cls: type[Record], **values: Any) -> Record:
    """`cls(**values)` for a plain frozen record, every field given by name."""
    layout = _LAYOUTS.get(cls)
    if layout is None:
        layout = _LAYOUTS[cls] = _Layout(cls)
    keys = values.keys()
    if not (layout.required <= keys <= layout.names):
        return cls(**values)  # raises the constructor's own TypeError
    record = object.__new__(cls)
    attributes = record.__dict__
    attributes.update(layout.defaults)
    for name, factory in layout.factories:
        if name not in values:
            attributes[name] = factory()
    attributes.update(values)
    return record
