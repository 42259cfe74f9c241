"""Loading configuration files (TOML) with errors that name the file and the field.

Rules, policies and thresholds are data: each stage reads its section from a TOML file
at start-up and turns every wrong value into a `ConfigFileError` before any message is
processed.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from pathlib import Path
from typing import Any, Callable, Collection, TypeVar

T = TypeVar("T")

SHIPPED_CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"


class ConfigFileError(ValueError):
    def __init__(self, path: Path | str, field: str, problem: str):
        self.path = str(path)
        self.field = field
        self.problem = problem
        super().__init__(f"{path}: {field}: {problem}")


def config_dirs() -> tuple[Path, ...]:
    """The folders rule files are read from, first match wins.

    HOTLINE_CONFIG_DIR names one folder, or several separated by ':' like PATH: a profile
    in front of the shipped rules (`config/simulator:config`) overrides only the files
    it has. Unset: the repository's config/.
    """
    configured = os.environ.get("HOTLINE_CONFIG_DIR")
    if configured:
        return tuple(Path(part) for part in configured.split(os.pathsep) if part)
    return (SHIPPED_CONFIG_DIR,)


def default_config_dir() -> Path:
    """The first folder of `config_dirs()`: where a missing rule file is expected."""
    return config_dirs()[0]


def config_file(name: str) -> Path:
    """`name` in the first folder of `config_dirs()` that has it, else in the first folder
    (so the error of a missing file names where it was expected)."""
    folders = config_dirs()
    for folder in folders:
        if (folder / name).is_file():
            return folder / name
    return folders[0] / name


def load_toml(path: Path | str) -> dict[str, Any]:
    path = Path(path)
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigFileError(path, "(file)", "does not exist") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigFileError(path, "(syntax)", str(error)) from None


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


def optional(table: dict[str, Any], key: str, default: T, convert: Callable[[Any], T] | None = None) -> T:
    if key not in table:
        return default
    return convert(table[key]) if convert else table[key]
