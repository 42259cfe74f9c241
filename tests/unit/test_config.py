"""Bad settings stop start-up with a message naming the variable."""

from __future__ import annotations

import pytest

from hotline.config import ConfigError, Settings


def test_defaults_bind_the_web_port_to_loopback():
    settings = Settings.from_env({})
    assert (settings.web_host, settings.web_port, settings.bootstrap_servers) == ("127.0.0.1", 6066, "127.0.0.1:9092")
    assert settings.faust_broker == "kafka://127.0.0.1:9092"


def test_several_brokers_are_passed_to_faust_and_clients():
    settings = Settings.from_env({"HOTLINE_BROKER": "kafka://k1:9092,k2:9092"})
    assert settings.bootstrap_servers == "k1:9092,k2:9092"
    assert settings.faust_broker == "kafka://k1:9092;kafka://k2:9092"
    assert settings.kafka_client_options() == {"bootstrap_servers": ["k1:9092", "k2:9092"]}


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"HOTLINE_WEB_PORT": "http"}, "HOTLINE_WEB_PORT: expected an integer, got 'http'"),
        ({"HOTLINE_WEB_PORT": "70000"}, "HOTLINE_WEB_PORT: must be between 1 and 65535, got 70000"),
        ({"HOTLINE_BROKER": "localhost"}, "HOTLINE_BROKER: expected host:port"),
        ({"HOTLINE_MODE": "prod"}, "HOTLINE_MODE: must be one of development, production, got 'prod'"),
        ({"HOTLINE_MODE": "production"}, "HOTLINE_PSEUDONYM_KEY: required when HOTLINE_MODE=production"),
        ({"HOTLINE_MODE": "production", "HOTLINE_PSEUDONYM_KEY": "short"}, "HOTLINE_PSEUDONYM_KEY: must be at least 32"),
        ({"HOTLINE_KAFKA_SECURITY_PROTOCOL": "TLS"}, "HOTLINE_KAFKA_SECURITY_PROTOCOL: must be one of"),
        ({"HOTLINE_TIME_MODE": "realtime"}, "HOTLINE_TIME_MODE: must be one of live, replay, got 'realtime'"),
        ({"HOTLINE_IDLE_ADVANCE_SECONDS": "1m"}, "HOTLINE_IDLE_ADVANCE_SECONDS: expected an integer, got '1m'"),
        ({"HOTLINE_IDLE_ADVANCE_SECONDS": "-5"}, "HOTLINE_IDLE_ADVANCE_SECONDS: must be between 0 and 86400, got -5"),
        (
            {"HOTLINE_TIME_MODE": "replay", "HOTLINE_IDLE_ADVANCE_SECONDS": "60"},
            "HOTLINE_IDLE_ADVANCE_SECONDS: must be 0 or unset in replay mode (HOTLINE_TIME_MODE=replay), got 60",
        ),
        ({"HOTLINE_TIME_MODE": "live", "HOTLINE_IDLE_ADVANCE_SECONDS": "0"}, "HOTLINE_IDLE_ADVANCE_SECONDS: must be at least 1 in live mode, got 0"),
        ({"HOTLINE_PARTITIONS": "0"}, "HOTLINE_PARTITIONS: must be between 1 and 1024, got 0"),
        ({"HOTLINE_PARTITIONS": "eight"}, "HOTLINE_PARTITIONS: expected an integer, got 'eight'"),
    ],
)
def test_bad_setting_names_the_variable(environ, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Settings.from_env(environ)


def test_production_mode_takes_the_configured_pseudonym_key():
    settings = Settings.from_env({"HOTLINE_MODE": "production", "HOTLINE_PSEUDONYM_KEY": "s" * 32})
    assert settings.pseudonym_key == b"s" * 32


def test_static_group_membership_is_off_unless_an_instance_id_is_given():
    assert Settings.from_env({}).group_instance_id is None
    assert Settings.from_env({"HOTLINE_GROUP_INSTANCE_ID": "hotline-worker-0"}).group_instance_id == "hotline-worker-0"


@pytest.mark.parametrize(
    ("environ", "time_mode", "idle_advance_seconds"),
    [
        ({}, "replay", 0),
        ({"HOTLINE_TIME_MODE": "replay"}, "replay", 0),
        ({"HOTLINE_IDLE_ADVANCE_SECONDS": "0"}, "replay", 0),
        ({"HOTLINE_TIME_MODE": "live"}, "live", 60),
        ({"HOTLINE_TIME_MODE": "live", "HOTLINE_IDLE_ADVANCE_SECONDS": "5"}, "live", 5),
        # an idle advance without a mode means live, as before the mode existed
        ({"HOTLINE_IDLE_ADVANCE_SECONDS": "30"}, "live", 30),
        ({"HOTLINE_TIME_MODE": "", "HOTLINE_IDLE_ADVANCE_SECONDS": ""}, "replay", 0),
    ],
)
def test_time_mode_and_idle_advance_follow_from_either_variable(environ, time_mode, idle_advance_seconds):
    settings = Settings.from_env(environ)
    assert (settings.time_mode, settings.idle_advance_seconds, settings.live) == (time_mode, idle_advance_seconds, time_mode == "live")


def test_partitions_default_to_four_and_follow_hotline_partitions():
    assert (Settings.from_env({}).partitions, Settings.from_env({"HOTLINE_PARTITIONS": "8"}).partitions) == (4, 8)
