"""`hotline worker` runs on uvloop unless FAUST_LOOP asks for asyncio's own loop."""

from __future__ import annotations

import os
import subprocess
import sys

import click
import pytest

from hotline.cli.main import use_event_loop

# A fresh interpreter: the loop policy is process-wide and must not leak into other tests.
LOOP_OF_A_WORKER = """
import asyncio
from hotline.cli.main import use_event_loop
use_event_loop()
loop = asyncio.new_event_loop()
print(type(loop).__module__)
loop.close()
"""


def loop_module(faust_loop: str | None) -> str:
    env = {key: value for key, value in os.environ.items() if key != "FAUST_LOOP"}
    if faust_loop is not None:
        env["FAUST_LOOP"] = faust_loop
    result = subprocess.run([sys.executable, "-c", LOOP_OF_A_WORKER], env=env, capture_output=True, text=True, check=True)
    return result.stdout.strip()


def test_a_worker_runs_on_uvloop_by_default():
    assert loop_module(None) == "uvloop"


def test_faust_loop_aio_keeps_asyncio_s_loop():
    assert loop_module("aio") == "asyncio.unix_events"


def test_an_unknown_loop_stops_start_up_naming_the_variable(monkeypatch):
    monkeypatch.setenv("FAUST_LOOP", "tokio")
    with pytest.raises(click.UsageError, match=r"environment variable FAUST_LOOP=tokio: expected one of uvloop, aio"):
        use_event_loop()
