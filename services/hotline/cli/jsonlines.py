"""Reading JSON-lines files for the command line, with errors naming file and line."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import click
import orjson


def read_json_lines(path: Path) -> Iterator[dict]:
    with Path(path).open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield orjson.loads(line)
            except orjson.JSONDecodeError as error:
                raise click.UsageError(f"{path}:{number}: not JSON: {error}") from None


def figure(value: float | None) -> str:
    """A ratio for a table: three decimals, or a dash when undefined."""
    return "—" if value is None else f"{value:.3f}"
