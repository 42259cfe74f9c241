"""Checking configuration tables that were already read into mappings: every wrong value
becomes a `ConfigFileError` naming the file and the field.

The rules of hotline.core are built from such tables (`parse_*` / `*_from_table`); the
path they are given only names the file in errors. Reading the files is
hotline.configfiles' and hotline.rules' job, so core never opens one.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Collection, TypeVar

T = TypeVar("T")


class ConfigFileError(ValueError):
    def __init__(self, path: Path | str, field: str, problem: str):
        self.path = str(path)
        self.field = field
        self.problem = problem
        super().__init__(f"{path}: {field}: {problem}")


def require(table: dict[str, Any], key: str, kind: type[T] | tuple[type, ...], path: Path | str, prefix: str = "") -> T:
    """table[key] checked to be of `kind`; the error names `prefix.key`."""
    field = f"{prefix}.{key}" if prefix else key
    if key not in table:
        raise ConfigFileError(path, field, "is missing")
    value = table[key]
    # bool is an int in Python; a flag where a number belongs is a mistake.
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise ConfigFileError(path, field, f"expected a number, got {value!r}")
    if not isinstance(value, kind):
        expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ConfigFileError(path, field, f"expected {expected}, got {value!r}")
    return value


def reject_unknown_keys(table: dict[str, Any], allowed: Collection[str], path: Path | str, prefix: str = "") -> None:
    """Stop at the first key of `table` that is not in `allowed`.

    A misspelt setting would otherwise be ignored and its default used without a word.
    Only for tables whose keys are settings; tables whose keys are data (categories,
    offices, aliases) are checked by the shape of their values instead.
    """
    for key in table:
        if key in allowed:
            continue
        expected = ", ".join(sorted(allowed))
        close = difflib.get_close_matches(key, list(allowed), n=1)
        hint = f", did you mean {close[0]!r}?" if close else ""
        field = f"{prefix}.{key}" if prefix else key
        raise ConfigFileError(path, field, f"unknown key{hint} (expected one of: {expected})")


def check(condition: bool, path: Path | str, field: str, problem: str) -> None:
    if not condition:
        raise ConfigFileError(path, field, problem)

