"""Copies of frozen records with some fields changed, cheaper than dataclasses.replace.

The order fold builds a new record per event and per step (an order, its office
history, its deadline state, its marks); `dataclasses.replace` re-runs the generated
`__init__`, which sets every field one by one through `object.__setattr__`. A record
class without `__post_init__`, `InitVar`s or `init=False` fields is fully described by
its attributes, so copying them and overwriting the changed ones gives the same record.
`built` makes new records the same way, through a keyword-only function generated once
per class (as dataclasses generates `__init__`), whose call checks the field names.
"""

from __future__ import annotations

from dataclasses import MISSING, fields, is_dataclass
from typing import Any, Callable, TypeVar

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


_NO_VALUE = object()


def _constructor(cls: type) -> Callable[..., Any]:
    """A keyword-only function that builds `cls` records: the call itself checks the
    names (a missing or unknown field raises TypeError, as the constructor does) and
    fills the defaults, with no per-call set arithmetic over the field names."""
    names = _field_names(cls)  # refuses records that need their own constructor
    if any(name.startswith("_") for name in names):
        raise TypeError(f"{cls.__name__} has a field whose name the built function may use")
    parameters, fill_factories, namespace = [], [], {"_new": object.__new__, "_cls": cls, "_NO_VALUE": _NO_VALUE}
    for index, field in enumerate(fields(cls)):
        if field.default is not MISSING:
            namespace[f"_default_{index}"] = field.default
            parameters.append(f"{field.name}=_default_{index}")
        elif field.default_factory is not MISSING:
            namespace[f"_factory_{index}"] = field.default_factory
            parameters.append(f"{field.name}=_NO_VALUE")
            fill_factories.append(f"    if {field.name} is _NO_VALUE:\n        {field.name} = _factory_{index}()\n")
        else:
            parameters.append(field.name)
    values = ", ".join(f"{field.name!r}: {field.name}" for field in fields(cls))
    source = (
        f"def build(*, {', '.join(parameters)}):\n"
        + "".join(fill_factories)
        + "    __record = _new(_cls)\n"
        + f"    __record.__dict__.update({{{values}}})\n"
        + "    return __record\n"
    )
    exec(source, namespace)  # noqa: S102 - the source is made of the class's own field names
    return namespace["build"]


_CONSTRUCTORS: dict[type, Callable[..., Any]] = {}


def built(cls: type[Record], **values: Any) -> Record:
    """`cls(**values)` for a plain frozen record, every field given by name."""
    constructor = _CONSTRUCTORS.get(cls)
    if constructor is None:
        constructor = _CONSTRUCTORS[cls] = _constructor(cls)
    return constructor(**values)
