"""A real `hotline worker` process for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

CONFIG = Path(__file__).resolve().parents[2] / "config"
# Workers here are fed simulated streams: the simulator's profile (its city) in front of
# the shipped rules, as `make demo` runs. A test of other data passes its own.
SIMULATOR_CONFIG_DIR = f"{CONFIG / 'simulator'}{os.pathsep}{CONFIG}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WorkerProcess:
    def __init__(
        self,
        log_path: Path,
        data_dir: Path,
        app_id: str = "hotline-e2e",
        extra_env: dict | None = None,
        web_port: int | None = None,
        worker_args: tuple[str, ...] = (),
    ):
        self.web_port = web_port or free_port()
        self.app_id = app_id
        self.log_path = log_path
        env = dict(os.environ)
        # Replay mode unless the test asks for live (its events are history).
        env.pop("HOTLINE_TIME_MODE", None)
        env.pop("HOTLINE_IDLE_ADVANCE_SECONDS", None)
        env.update(
            HOTLINE_APP_ID=app_id,
            HOTLINE_WEB_PORT=str(self.web_port),
            HOTLINE_DATA_DIR=str(data_dir),
            HOTLINE_CONFIG_DIR=SIMULATOR_CONFIG_DIR,
        )
        env.update(extra_env or {})
        self._log = open(log_path, "wb")
        hotline = Path(sys.executable).with_name("hotline")
        self.process = subprocess.Popen([str(hotline), "worker", *worker_args, "-l", "info"], env=env, stdout=self._log, stderr=subprocess.STDOUT)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout_seconds: float = 90.0) -> None:
        """Until the worker has joined its group and its partitions are assigned."""
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited with {self.process.returncode}:\n{self.log_text()[-3000:]}")
            if "Worker ready" in self.log_text():
                return
            time.sleep(0.3)
        raise AssertionError(f"worker not ready in {timeout_seconds}s:\n{self.log_text()[-3000:]}")

    def metrics(self) -> dict[tuple[str, tuple], float]:
        """Samples of /metrics as {(name, sorted labels): value}."""
        with urllib.request.urlopen(self.url + "/metrics", timeout=10) as response:
            text = response.read().decode()
        samples = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return samples

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
