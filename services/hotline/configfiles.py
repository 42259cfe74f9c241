"""Finding and reading configuration files (TOML), with errors that name the file.

Rules, policies and thresholds are data: hotline.rules finds each rule file here, reads
it once and hands the table to hotline.core, which checks every value
(hotline.core.config_tables) before any message is processed.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from hotline.core.config_tables import ConfigFileError

SHIPPED_CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"


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


def config_file(name: str, folders: tuple[Path, ...] | None = None) -> Path:
    """`name` in the first of `folders` (default `config_dirs()`) that has it, else in the
    first folder (so the error of a missing file names where it was expected)."""
    folders = config_dirs() if folders is None else folders
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
