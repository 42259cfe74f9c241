"""A throwaway Kafka broker of its own for one group of end-to-end tests.

Each e2e module replays data whose event times must not mix with another module's (the
deadline stage keeps an event-time watermark per partition), so each gets a broker with
its own ports and data directory, started and stopped by the project's kafka.sh. A
reliability test may halt it and resume it on the same ports and data, as a broker
restart.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from support.worker import free_port

ROOT = Path(__file__).resolve().parents[2]
KAFKA_SH = ROOT / "deploy" / "kafka" / "kafka.sh"


class ThrowawayBroker:
    def __init__(self) -> None:
        self.port = free_port()
        self.data_dir = Path(tempfile.mkdtemp(prefix="hotline-e2e-kafka-"))
        self.env = dict(
            os.environ,
            KAFKA_PORT=str(self.port),
            KAFKA_CONTROLLER_PORT=str(free_port()),
            KAFKA_DATA_DIR=str(self.data_dir),
            HOTLINE_BROKER=f"127.0.0.1:{self.port}",
        )

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, app_id: str, partitions: int | None = None) -> None:
        subprocess.run([str(KAFKA_SH), "up"], env=self.env, check=True, timeout=180, capture_output=True)
        hotline = Path(sys.executable).with_name("hotline")
        count = ["--partitions", str(partitions)] if partitions else []
        subprocess.run([str(hotline), "topics", "create", *count], env={**self.env, "HOTLINE_APP_ID": app_id}, check=True, timeout=120, capture_output=True)

    def halt(self) -> None:
        """Stop the broker process (SIGTERM, a clean shutdown) and keep its data dir and ports
        for `resume`; clients connected to it see the broker go away."""
        subprocess.run([str(KAFKA_SH), "down"], env=self.env, timeout=120, capture_output=True, check=True)

    def resume(self) -> None:
        """Start the halted broker again on the same ports and data dir; returns once it answers."""
        subprocess.run([str(KAFKA_SH), "up"], env=self.env, check=True, timeout=180, capture_output=True)

    def stop(self) -> None:
        subprocess.run([str(KAFKA_SH), "down"], env=self.env, timeout=120, capture_output=True)
        shutil.rmtree(self.data_dir, ignore_errors=True)
