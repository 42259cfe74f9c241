"""Every test here talks to the real local broker: none may pass without it."""

import pytest


@pytest.fixture(autouse=True)
def _needs_broker(kafka_broker):
    return kafka_broker
