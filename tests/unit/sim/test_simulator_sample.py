"""The bundled sample is exactly what the recorded command generates."""

from __future__ import annotations

import shlex
from pathlib import Path

from click.testing import CliRunner

from hotline.cli import simulate_commands

REPOSITORY = Path(__file__).resolve().parents[3]
SAMPLE_FILES = ("data/samples/demo-events.jsonl", "data/offices/demo-offices.jsonl", "data/samples/demo-truth.jsonl")


def _recorded_command() -> list[str]:
    readme = (REPOSITORY / "data" / "README.md").read_text(encoding="utf-8")
    line = next(line for line in readme.splitlines() if line.startswith("hotline simulate "))
    return shlex.split(line)[2:]


def test_bundled_sample_is_regenerated_byte_for_byte_by_the_recorded_command(tmp_path):
    # given the command recorded in data/README.md, writing into a scratch folder
    arguments = _recorded_command()
    for relative in SAMPLE_FILES:
        arguments[arguments.index(relative)] = str(tmp_path / Path(relative).name)
    # when it runs
    result = CliRunner().invoke(simulate_commands.simulate_command, arguments)
    # then every file equals the bundled one
    assert result.exit_code == 0, result.output
    for relative in SAMPLE_FILES:
        assert (tmp_path / Path(relative).name).read_bytes() == (REPOSITORY / relative).read_bytes(), relative


def test_bundled_sample_has_a_few_thousand_events_and_shows_an_overload():
    events = (REPOSITORY / SAMPLE_FILES[0]).read_bytes().splitlines()
    truth = (REPOSITORY / SAMPLE_FILES[2]).read_text(encoding="utf-8")
    assert 2000 <= len(events) <= 5000
    assert '"kind":"overload","office_id":"d04-s01"' in truth
