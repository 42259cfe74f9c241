"""The replication of the deployment's topics: named by the environment, or decided by
the number of brokers the cluster has."""

from __future__ import annotations

import pytest

from hotline.config import ConfigError, Replication, Settings
from hotline.contract import topics


@pytest.mark.parametrize(("brokers", "expected"), [(1, (1, 1)), (2, (2, 1)), (3, (3, 2)), (5, (3, 2))])
def test_unset_the_cluster_size_decides(brokers, expected):
    replication = Settings.from_env({}).replication_for(brokers)
    assert (replication.factor, replication.min_insync) == expected


def test_named_settings_win_over_the_cluster_size():
    settings = Settings.from_env({"HOTLINE_REPLICATION_FACTOR": "3", "HOTLINE_MIN_INSYNC_REPLICAS": "3"})
    assert settings.replication_for(5) == Replication(3, 3, 5)
    assert Settings.from_env({"HOTLINE_REPLICATION_FACTOR": "2"}).replication_for(3) == Replication(2, 1, 3)
    assert Settings.from_env({"HOTLINE_MIN_INSYNC_REPLICAS": "1"}).replication_for(3) == Replication(3, 1, 3)


def test_the_description_names_both_settings_and_the_brokers():
    assert Replication(3, 2, 3).describe() == "replication factor 3, min.insync.replicas 2 (3 brokers)"
    assert Replication(1, 1, 1).describe() == "replication factor 1, min.insync.replicas 1 (1 broker)"


@pytest.mark.parametrize(
    ("environ", "brokers", "message"),
    [
        ({"HOTLINE_REPLICATION_FACTOR": "3"}, 1, "HOTLINE_REPLICATION_FACTOR: 3 copies need 3 brokers, the cluster has 1"),
        ({"HOTLINE_MIN_INSYNC_REPLICAS": "2"}, 1, "HOTLINE_MIN_INSYNC_REPLICAS: must be at most the replication factor (1), got 2"),
    ],
)
def test_more_copies_than_the_cluster_can_hold_are_refused(environ, brokers, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Settings.from_env(environ).replication_for(brokers)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"HOTLINE_REPLICATION_FACTOR": "three"}, "HOTLINE_REPLICATION_FACTOR: expected an integer, got 'three'"),
        ({"HOTLINE_REPLICATION_FACTOR": "0"}, "HOTLINE_REPLICATION_FACTOR: must be between 1 and 32, got 0"),
        ({"HOTLINE_REPLICATION_FACTOR": "2", "HOTLINE_MIN_INSYNC_REPLICAS": "3"}, "HOTLINE_MIN_INSYNC_REPLICAS: must be at most HOTLINE_REPLICATION_FACTOR"),
    ],
)
def test_bad_values_stop_start_up(environ, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(environ)


def test_replicated_topics_carry_the_copies_and_min_insync_replicas():
    spec = topics.EVENTS.with_replication(3, 2)
    assert (spec.replication_factor, spec.kafka_configs()) == (3, {"cleanup.policy": "delete", "min.insync.replicas": "2", "retention.ms": "-1"})
    # unreplicated specs leave min.insync.replicas to the broker
    assert "min.insync.replicas" not in topics.EVENTS.kafka_configs()
