"""Shared fixtures. Integration and e2e tests need the real broker that `make test` starts."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def kafka_broker() -> str:
    broker = os.environ.get("HOTLINE_BROKER")
    if not broker:
        pytest.fail("HOTLINE_BROKER is not set: the broker tests run under `make test`, which starts a local Kafka")
    return broker
