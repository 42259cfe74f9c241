"""A throwaway single-node Kafka broker for one benchmark run, via deploy/kafka/kafka.sh.

Consumes nothing but free ports and a temporary directory; produces a broker on
127.0.0.1:<port> that `stop` shuts down and deletes. Also locates the broker's jars, which
the consumer-throughput baseline (Kafka's ConsumerPerformance) runs from, and the broker's
process id (kafka.sh writes it to broker.pid in the data directory), whose CPU time the
scale-out figures read.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from hotline.bench.processes import free_port

ROOT = Path(__file__).resolve().parents[3]
KAFKA_DIR = ROOT / "deploy" / "kafka"
KAFKA_SH = KAFKA_DIR / "kafka.sh"


def kafka_libs_dir() -> Path:
    """The jar directory kafka.sh fetches into: $HOTLINE_CACHE_DIR/kafka-<version>/libs."""
    match = re.search(r"<kafka.version>(.*)</kafka.version>", (KAFKA_DIR / "pom.xml").read_text())
    if match is None:
        raise RuntimeError(f"{KAFKA_DIR / 'pom.xml'}: no <kafka.version>")
    cache_dir = Path(os.environ.get("HOTLINE_CACHE_DIR", Path.home() / ".cache" / "hotline"))
    return cache_dir / f"kafka-{match.group(1)}" / "libs"


class ThrowawayBroker:
    def __init__(self) -> None:
        self.port = free_port()
        self.data_dir = Path(tempfile.mkdtemp(prefix="hotline-bench-kafka-"))
        self.env = dict(
            os.environ,
            KAFKA_PORT=str(self.port),
            KAFKA_CONTROLLER_PORT=str(free_port()),
            KAFKA_DATA_DIR=str(self.data_dir),
        )

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The broker JVM's process id, None before `start` or if kafka.sh wrote none."""
        try:
            return int((self.data_dir / "broker.pid").read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def start(self) -> None:
        result = subprocess.run([str(KAFKA_SH), "up"], env=self.env, timeout=180, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"kafka.sh up failed ({result.returncode}):\n{result.stderr[-3000:]}")

    def stop(self) -> None:
        subprocess.run([str(KAFKA_SH), "down"], env=self.env, timeout=120, capture_output=True)
        shutil.rmtree(self.data_dir, ignore_errors=True)
