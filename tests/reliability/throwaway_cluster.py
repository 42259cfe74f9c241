"""A throwaway three-node Kafka cluster for the reliability tests, in the place of a
pipeline's single `ThrowawayBroker`: three combined controller+broker nodes started by
`kafka.sh cluster-up` on free loopback ports, each killed (SIGKILL) and started again on
its own, and the topics as Kafka's kafka-topics tool describes them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from support.broker import KAFKA_SH
from support.reliability import HOTLINE
from support.worker import free_port


# Each node of a throwaway cluster: three JVMs share the machine with the workers.
CLUSTER_HEAP_OPTS = "-Xms128m -Xmx384m"


class ThrowawayCluster:
    """Three combined controller+broker nodes (kafka.sh cluster-up) on free loopback ports
    and a data dir of their own, in the place of a pipeline's `ThrowawayBroker`: nodes can
    be killed (SIGKILL) and started again one by one."""

    def __init__(self) -> None:
        self.ports = [free_port() for _ in range(3)]
        self.data_dir = Path(tempfile.mkdtemp(prefix="hotline-cluster-"))
        self.env = dict(
            os.environ,
            KAFKA_CLUSTER_PORTS=",".join(map(str, self.ports)),
            KAFKA_CLUSTER_CONTROLLER_PORTS=",".join(str(free_port()) for _ in range(3)),
            KAFKA_CLUSTER_DIR=str(self.data_dir),
            KAFKA_HEAP_OPTS=os.environ.get("KAFKA_HEAP_OPTS", CLUSTER_HEAP_OPTS),
            HOTLINE_BROKER=",".join(f"127.0.0.1:{port}" for port in self.ports),
        )

    @property
    def bootstrap(self) -> str:
        return self.env["HOTLINE_BROKER"]

    def kafka_sh(self, *args: str, timeout: float = 180) -> str:
        result = subprocess.run([str(KAFKA_SH), *args], env=self.env, timeout=timeout, capture_output=True, text=True)
        assert result.returncode == 0, f"kafka.sh {' '.join(args)}: {result.stderr[-3000:]}"
        return result.stdout

    def start(self, app_id: str, partitions: int | None = None) -> None:
        self.kafka_sh("cluster-up")
        count = ["--partitions", str(partitions)] if partitions else []
        subprocess.run([HOTLINE, "topics", "create", *count], env={**self.env, "HOTLINE_APP_ID": app_id}, check=True, timeout=120, capture_output=True)

    def kill_node(self, node: int) -> None:
        self.kafka_sh("node-kill", str(node))

    def start_node(self, node: int) -> None:
        self.kafka_sh("node-up", str(node))

    def describe_topics(self) -> dict[str, "DescribedTopic"]:
        """Every topic as Kafka's kafka-topics tool describes it (`kafka.sh cluster-topics --describe`)."""
        return parse_topics_description(self.kafka_sh("cluster-topics", "--describe", timeout=120))

    def stop(self) -> None:
        subprocess.run([str(KAFKA_SH), "cluster-down"], env=self.env, timeout=180, capture_output=True)
        shutil.rmtree(self.data_dir, ignore_errors=True)


@dataclass(frozen=True)
class DescribedTopic:
    replication_factor: int
    configs: dict[str, str]
    leaders: dict[int, int]  # partition -> leader node (-1: none)
    in_sync: dict[int, tuple[int, ...]]  # partition -> in-sync replicas

    def leaders_by_node(self) -> Counter:
        return Counter(self.leaders.values())


def parse_topics_description(text: str) -> dict[str, DescribedTopic]:
    """`kafka-topics --describe` output: a topic line (name, partition count, replication
    factor, configs), then one line per partition (leader, replicas, in-sync replicas)."""
    described: dict[str, DescribedTopic] = {}
    for line in text.splitlines():
        header = re.match(r"Topic: (\S+)\s+TopicId: \S+\s+PartitionCount: \d+\s+ReplicationFactor: (\d+)\s+Configs: ?(.*)$", line)
        if header:
            configs = dict(item.split("=", 1) for item in header.group(3).split(",") if "=" in item)
            described[header.group(1)] = DescribedTopic(int(header.group(2)), configs, {}, {})
            continue
        partition = re.match(r"\s+Topic: (\S+)\s+Partition: (\d+)\s+Leader: (-?\d+|none)\s+Replicas: (\S+)\s+Isr: ?(\S*)", line)
        if partition:
            topic = described[partition.group(1)]
            leader = partition.group(3)
            topic.leaders[int(partition.group(2))] = -1 if leader == "none" else int(leader)
            topic.in_sync[int(partition.group(2))] = tuple(int(node) for node in partition.group(5).split(",") if node)
    return described
