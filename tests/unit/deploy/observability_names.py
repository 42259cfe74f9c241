"""Metric names in PromQL, and the names the processor and its rules actually provide.

Shared by the Prometheus-rule and Grafana-dashboard tests: a query that names a metric
nobody exports shows an empty panel or an alert that can never fire, silently.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from prometheus_client.metrics import MetricWrapperBase

from hotline.stream import metrics, pressure_metrics

ROOT = Path(__file__).resolve().parents[3]
PROMETHEUS = ROOT / "deploy" / "prometheus"
RECORDING_RULES = PROMETHEUS / "rules" / "hotline-recording.yml"
ALERTING_RULES = PROMETHEUS / "rules" / "hotline-alerts.yml"

# Series Prometheus itself writes: for every target, and for every alert (an alert with
# a threshold gap reads its own state).
PROMETHEUS_SERIES = frozenset({"up", "ALERTS"})
PROMQL_KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right"})

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_LABEL_LISTS = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENTIFIER = re.compile(r"(?<![\w.$])([a-zA-Z_:][\w:]*)(\s*\()?")


def metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression reads (functions, keywords and labels left out)."""
    text = _STRINGS.sub(" ", expr)
    text = _MATCHERS.sub(" ", text)
    text = _RANGES.sub(" ", text)
    text = _LABEL_LISTS.sub(" ", text)
    names = set()
    for match in _IDENTIFIER.finditer(text):
        name, call = match.group(1), match.group(2)
        if call is None and name not in PROMQL_KEYWORDS:
            names.add(name)
    return names


# prometheus_client describes a counter and an info metric by their names without the suffix.
EXPOSED_SUFFIX = {"counter": "_total", "info": "_info"}


def exported_metric_names() -> set[str]:
    """Names as exposed on /metrics by hotline.stream.metrics and pressure_metrics."""
    names = set()
    for module in (metrics, pressure_metrics):
        for value in vars(module).values():
            if isinstance(value, MetricWrapperBase):
                for family in value.describe():
                    names.add(family.name + EXPOSED_SUFFIX.get(family.type, ""))
    return names


def rules(path: Path) -> list[dict]:
    return [rule for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"]]


def recorded_names() -> set[str]:
    return {rule["record"] for rule in rules(RECORDING_RULES)}


def known_names() -> set[str]:
    return exported_metric_names() | recorded_names() | PROMETHEUS_SERIES
