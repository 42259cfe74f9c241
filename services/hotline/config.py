"""Settings of a worker and of the command line, read from the environment once.

Every variable is named HOTLINE_*; a bad value stops start-up with a `ConfigError` that
names the variable and what it should be.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

DEVELOPMENT_PSEUDONYM_KEY = "hotline-development-key-not-secret"
TIME_MODES = ("live", "replay")
# Live mode: idle partitions follow the wall clock less this much, so events that arrive
# a little late (network, source batching) still come before the clock passes them.
LIVE_IDLE_ADVANCE_SECONDS = 60


# Three copies, two of them required in sync: one broker can fail or be restarted while
# writes go on, and an acknowledged write is already on two brokers.
DEFAULT_REPLICATION_FACTOR = 3


class ConfigError(ValueError):
    """A configuration value is wrong; the message names the source and the field."""


@dataclass(frozen=True)
class Replication:
    """Copies of each partition, how many must be in sync for a write to count, and the
    brokers the cluster had when this was decided."""

    factor: int
    min_insync: int
    brokers: int

    def describe(self) -> str:
        return f"replication factor {self.factor}, min.insync.replicas {self.min_insync} ({self.brokers} broker{'s' if self.brokers != 1 else ''})"


@dataclass(frozen=True)
class Settings:
    broker: str = "127.0.0.1:9092"
    app_id: str = "hotline"
    web_host: str = "127.0.0.1"
    web_port: int = 6066
    mode: str = "development"
    pseudonym_key: bytes = DEVELOPMENT_PSEUDONYM_KEY.encode()
    store: str = "memory://"
    data_dir: str = "/tmp/hotline-worker"
    max_event_bytes: int = 64 * 1024
    # Replay: event time moves with the events alone. Live: idle partitions also follow
    # the wall clock, less idle_advance_seconds (hotline.core.idle_advance).
    time_mode: str = "replay"
    idle_advance_seconds: int = 0
    closed_order_retention_days: int = 14
    max_future_seconds: int = 86400
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = None
    ssl_cafile: str | None = None
    # Static group membership (Kafka's group.instance.id): a worker restarted under the
    # same id takes its partitions back at once instead of after the session timeout.
    group_instance_id: str | None = None
    # Partitions of every stage topic (hotline.contract.topics): the most workers an app
    # can spread over. Fixed when the topics are created; every worker must use it.
    partitions: int = 4
    # Copies of every topic's partitions, and how many must have a write before the broker
    # acknowledges it (producers wait for all in-sync copies, acks=all). None: from the
    # cluster's size when the topics are created (`replication_for`).
    replication_factor: int | None = None
    min_insync_replicas: int | None = None

    @property
    def live(self) -> bool:
        return self.time_mode == "live"

    @property
    def bootstrap_servers(self) -> str:
        """host:port[,host:port] as Kafka clients take it."""
        return ",".join(part.removeprefix("kafka://") for part in self.broker.split(","))

    @property
    def faust_broker(self) -> str:
        return ";".join("kafka://" + part for part in self.bootstrap_servers.split(","))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        defaults = cls()

        def text(name: str, default: str | None) -> str | None:
            value = env.get(name)
            return default if value is None or value == "" else value

        def integer(name: str, default: int | None, low: int, high: int) -> int | None:
            raw = env.get(name)
            if raw is None or raw == "":
                return default
            try:
                value = int(raw)
            except ValueError:
                raise ConfigError(f"environment variable {name}: expected an integer, got {raw!r}") from None
            if not low <= value <= high:
                raise ConfigError(f"environment variable {name}: must be between {low} and {high}, got {value}")
            return value

        def choice(name: str, default: str | None, allowed: tuple[str, ...]) -> str:
            value = text(name, default)
            if value not in allowed:
                raise ConfigError(f"environment variable {name}: must be one of {', '.join(allowed)}, got {value!r}")
            return value

        mode = choice("HOTLINE_MODE", defaults.mode, ("development", "production"))
        key = env.get("HOTLINE_PSEUDONYM_KEY", "")
        if not key:
            if mode == "production":
                raise ConfigError(
                    "environment variable HOTLINE_PSEUDONYM_KEY: required when HOTLINE_MODE=production "
                    "(a secret of at least 32 characters; caller ids are pseudonymised with it)"
                )
            key = DEVELOPMENT_PSEUDONYM_KEY
        elif mode == "production" and len(key) < 32:
            raise ConfigError("environment variable HOTLINE_PSEUDONYM_KEY: must be at least 32 characters in production")
        time_mode, idle_advance_seconds = time_settings(
            choice("HOTLINE_TIME_MODE", None, TIME_MODES) if env.get("HOTLINE_TIME_MODE") else None,
            integer("HOTLINE_IDLE_ADVANCE_SECONDS", None, 0, 86400),
        )
        broker = text("HOTLINE_BROKER", defaults.broker) or defaults.broker
        for part in broker.split(","):
            host_port = part.removeprefix("kafka://")
            if ":" not in host_port or not host_port.rsplit(":", 1)[1].isdigit():
                raise ConfigError(f"environment variable HOTLINE_BROKER: expected host:port[,host:port], got {broker!r}")
        replication_factor = integer("HOTLINE_REPLICATION_FACTOR", None, 1, 32)
        min_insync_replicas = integer("HOTLINE_MIN_INSYNC_REPLICAS", None, 1, 32)
        if replication_factor and min_insync_replicas and min_insync_replicas > replication_factor:
            raise ConfigError(
                f"environment variable HOTLINE_MIN_INSYNC_REPLICAS: must be at most HOTLINE_REPLICATION_FACTOR "
                f"({replication_factor}), got {min_insync_replicas}"
            )
        return cls(
            broker=broker,
            app_id=text("HOTLINE_APP_ID", defaults.app_id) or defaults.app_id,
            web_host=text("HOTLINE_WEB_HOST", defaults.web_host) or defaults.web_host,
            web_port=integer("HOTLINE_WEB_PORT", defaults.web_port, 1, 65535),
            mode=mode,
            pseudonym_key=key.encode("utf-8"),
            store=text("HOTLINE_STORE", defaults.store) or defaults.store,
            data_dir=text("HOTLINE_DATA_DIR", defaults.data_dir) or defaults.data_dir,
            max_event_bytes=integer("HOTLINE_MAX_EVENT_BYTES", defaults.max_event_bytes, 1024, 900 * 1024),
            max_future_seconds=integer("HOTLINE_MAX_FUTURE_SECONDS", defaults.max_future_seconds, 0, 10 * 365 * 86400),
            time_mode=time_mode,
            idle_advance_seconds=idle_advance_seconds,
            closed_order_retention_days=integer("HOTLINE_CLOSED_ORDER_RETENTION_DAYS", defaults.closed_order_retention_days, 1, 3660),
            security_protocol=choice(
                "HOTLINE_KAFKA_SECURITY_PROTOCOL",
                defaults.security_protocol,
                ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"),
            ),
            sasl_mechanism=text("HOTLINE_KAFKA_SASL_MECHANISM", None),
            sasl_username=text("HOTLINE_KAFKA_SASL_USERNAME", None),
            sasl_password=text("HOTLINE_KAFKA_SASL_PASSWORD", None),
            ssl_cafile=text("HOTLINE_KAFKA_SSL_CAFILE", None),
            group_instance_id=text("HOTLINE_GROUP_INSTANCE_ID", None),
            partitions=integer("HOTLINE_PARTITIONS", defaults.partitions, 1, 1024),
            replication_factor=replication_factor,
            min_insync_replicas=min_insync_replicas,
        )

    def replication_for(self, brokers: int) -> "Replication":
        """The replication of the deployment's topics on a cluster of `brokers` brokers:
        what HOTLINE_REPLICATION_FACTOR and HOTLINE_MIN_INSYNC_REPLICAS name, else three
        copies with two in sync on three brokers or more, one and one on a single broker
        (two brokers: two copies, one in sync)."""
        factor = self.replication_factor or max(1, min(DEFAULT_REPLICATION_FACTOR, brokers))
        if factor > brokers:
            raise ConfigError(
                f"environment variable HOTLINE_REPLICATION_FACTOR: {factor} copies need {factor} brokers, "
                f"the cluster has {brokers}"
            )
        min_insync = self.min_insync_replicas or max(1, factor - 1)
        if min_insync > factor:
            raise ConfigError(
                f"environment variable HOTLINE_MIN_INSYNC_REPLICAS: must be at most the replication factor ({factor}), got {min_insync}"
            )
        return Replication(factor, min_insync, brokers)

    def aiokafka_options(self) -> dict[str, object]:
        """Connection options for aiokafka clients inside a worker."""
        options: dict[str, object] = {"bootstrap_servers": self.bootstrap_servers}
        if self.security_protocol != "PLAINTEXT":
            options["security_protocol"] = self.security_protocol
        if self.sasl_mechanism:
            options["sasl_mechanism"] = self.sasl_mechanism
            options["sasl_plain_username"] = self.sasl_username
            options["sasl_plain_password"] = self.sasl_password
        if self.security_protocol in ("SSL", "SASL_SSL"):
            from aiokafka.helpers import create_ssl_context

            options["ssl_context"] = create_ssl_context(cafile=self.ssl_cafile)
        return options

    def kafka_client_options(self) -> dict[str, object]:
        """Connection options for kafka-python / aiokafka clients used by the CLI."""
        options: dict[str, object] = {"bootstrap_servers": self.bootstrap_servers.split(",")}
        if self.security_protocol != "PLAINTEXT":
            options["security_protocol"] = self.security_protocol
        if self.sasl_mechanism:
            options["sasl_mechanism"] = self.sasl_mechanism
            options["sasl_plain_username"] = self.sasl_username
            options["sasl_plain_password"] = self.sasl_password
        if self.ssl_cafile:
            options["ssl_cafile"] = self.ssl_cafile
        return options


def time_settings(mode: str | None, idle_advance_seconds: int | None) -> tuple[str, int]:
    """(time mode, idle advance) from HOTLINE_TIME_MODE and HOTLINE_IDLE_ADVANCE_SECONDS,
    either of them unset (None).

    Without a mode, an idle advance above 0 means live, as it did before the mode
    existed; live without an idle advance takes LIVE_IDLE_ADVANCE_SECONDS.
    """
    if mode is None:
        mode = "live" if idle_advance_seconds else "replay"
    if mode == "replay":
        if idle_advance_seconds:
            raise ConfigError(
                "environment variable HOTLINE_IDLE_ADVANCE_SECONDS: must be 0 or unset in replay mode "
                f"(HOTLINE_TIME_MODE=replay), got {idle_advance_seconds}"
            )
        return mode, 0
    if idle_advance_seconds == 0:
        raise ConfigError("environment variable HOTLINE_IDLE_ADVANCE_SECONDS: must be at least 1 in live mode, got 0")
    return mode, LIVE_IDLE_ADVANCE_SECONDS if idle_advance_seconds is None else idle_advance_seconds
