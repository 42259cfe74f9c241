"""The benchmark report: figures of every phase, their ratios to the baselines, the goals.

Consumes the plain dicts the phases produce (any phase may be missing: skipped or
failed); produces the JSON document `hotline bench --output` writes and the rows of the
table it prints. Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

from hotline.bench import stats

GOAL_EVENTS_PER_SECOND_PER_WORKER = 10_000
GOAL_RATIO_TO_AIOKAFKA = 0.5
GOAL_P99_MS = 500.0
GOAL_P99_RATE = 2000


def _rate(section: dict | None) -> float | None:
    return None if section is None else section.get("events_per_second")


def _rounded(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def ratios(baselines: dict[str, dict | None], pipeline: dict | None, scaleout: dict | None) -> dict[str, float | None]:
    kafka, aiokafka, faust = (baselines.get(name) for name in ("kafka_consumer", "aiokafka_passthrough", "faust_forward"))
    return {
        "pipeline_to_aiokafka_passthrough": _rounded(stats.ratio(_rate(pipeline), _rate(aiokafka))),
        "pipeline_to_faust_forward": _rounded(stats.ratio(_rate(pipeline), _rate(faust))),
        "faust_forward_to_aiokafka_passthrough": _rounded(stats.ratio(_rate(faust), _rate(aiokafka))),
        "faust_forward_hotline_consumer_to_aiokafka_passthrough": _rounded(stats.ratio(_rate((faust or {}).get("project_consumer")), _rate(aiokafka))),
        "faust_forward_batched_to_aiokafka_passthrough": _rounded(stats.ratio(_rate((faust or {}).get("batched")), _rate(aiokafka))),
        "aiokafka_passthrough_to_kafka_consumer": _rounded(stats.ratio(_rate(aiokafka), _rate(kafka))),
        "two_workers_to_one_worker": _rounded(stats.ratio(_rate(scaleout), _rate(pipeline))),
    }


def _worst_p99_ms(run: dict) -> float | None:
    p99s = [summary["p99_ms"] for summary in run["latency_ms"].values() if summary is not None]
    return max(p99s) if p99s and len(p99s) == len(run["latency_ms"]) else None


def goals(pipeline: dict | None, ratio_to_aiokafka: float | None, latency: list[dict] | None) -> list[dict[str, Any]]:
    """Each goal with what was measured and whether it is met (None: not measured)."""
    rate = _rate(pipeline)
    at_goal_rate = next((run for run in latency or () if run["offered_events_per_second"] == GOAL_P99_RATE), None)
    if at_goal_rate is None:
        p99_measured, p99_met = None, None
    elif not at_goal_rate["kept_up"]:
        p99_measured, p99_met = "did not keep up", False
    else:
        p99_measured = _worst_p99_ms(at_goal_rate)
        p99_met = p99_measured is not None and p99_measured < GOAL_P99_MS
    return [
        {
            "goal": f"full pipeline >= {GOAL_EVENTS_PER_SECOND_PER_WORKER} input events/s per worker",
            "measured": rate,
            "met": None if rate is None else rate >= GOAL_EVENTS_PER_SECOND_PER_WORKER,
        },
        {
            "goal": f"full pipeline >= {GOAL_RATIO_TO_AIOKAFKA} of the raw aiokafka passthrough",
            "measured": ratio_to_aiokafka,
            "met": None if ratio_to_aiokafka is None else ratio_to_aiokafka >= GOAL_RATIO_TO_AIOKAFKA,
        },
        {
            "goal": f"p99 < {GOAL_P99_MS:.0f} ms at {GOAL_P99_RATE} events/s (slowest of screened, cases, deadlines)",
            "measured": p99_measured,
            "met": p99_met,
        },
    ]


def build_report(
    machine: dict,
    command: str,
    setup: dict,
    baselines: dict[str, dict | None],
    pipeline: dict | None,
    scaleout: dict | None,
    latency: list[dict] | None,
    memory: dict | None,
    errors: dict[str, str],
) -> dict[str, Any]:
    ratio_table = ratios(baselines, pipeline, scaleout)
    return {
        "command": command,
        "machine": machine,
        "setup": setup,
        "baselines": baselines,
        "pipeline_one_worker": pipeline,
        "pipeline_two_workers": scaleout,
        "ratios": ratio_table,
        "latency": latency,
        "memory": memory,
        "goals": goals(pipeline, ratio_table["pipeline_to_aiokafka_passthrough"], latency),
        "errors": errors,
    }


def _text(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        shown = f"{value:,.3f}" if abs(value) < 10 else f"{value:,.0f}"
        return f"{shown}{unit}"
    if isinstance(value, int):
        return f"{value:,}{unit}"
    return str(value)


def _cores_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _seconds_text(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f} s"


def _with_reason(text: str, reason: str | None) -> str:
    return text if reason is None else f"{text}; broker not measured: {reason}"


def table_rows(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(section, figure, value) rows in reading order."""
    machine = report["machine"]
    rows: list[tuple[str, str, str]] = [
        ("machine", "cores (os.cpu_count)", _text(machine["cpu_count"])),
        ("machine", "shared by", machine["shared_by"]),
        ("machine", "load average 1/5/15 min at start / end", f"{machine.get('load_average_at_start')} / {machine.get('load_average_at_end')}"),
        ("input", "pre-produced events", _text(report["setup"].get("events"))),
        ("input", "simulated days / orders (open)", f"{report['setup'].get('simulated_days')} / {_text(report['setup'].get('orders', {}).get('orders'))} ({_text(report['setup'].get('orders', {}).get('open'))})"),
    ]
    setup = report["setup"]
    if "producer_cores" in setup:
        produced = f"{_cores_text(setup['producer_cores'])} / {_cores_text(setup['broker_cores_during_produce'])} (over {_seconds_text(setup['producer_wall_seconds'])})"
        rows.append(("input", "pre-producing: cores of the producer / the broker", _with_reason(produced, setup["broker_cpu_unmeasured_reason"])))
    names = {
        "kafka_consumer": "(a) Kafka ConsumerPerformance",
        "aiokafka_passthrough": "(b) aiokafka consume->produce",
        "faust_forward": "(c) Faust forward-only agent",
    }
    for key, label in names.items():
        rows.append(("throughput", f"{label} events/s", _text(_rate(report["baselines"].get(key)))))
    for key, label in (("pipeline_one_worker", "full pipeline, 1 worker"), ("pipeline_two_workers", "full pipeline, 2 workers")):
        section = report[key]
        rows.append(("throughput", f"{label} events/s", _text(_rate(section))))
        if section is not None:
            rows.append(("throughput", f"{label}: CPU s per 1000 events", _text(section.get("cpu_seconds_per_1000_events"))))
            rows.append(("throughput", f"{label}: all stages drained after", _text(section.get("first_output_to_all_stages_drained_seconds"), " s")))
            if "worker_cores_during_drain" in section:
                drained = f"{_cores_text(section['worker_cores_during_drain'])} / {_cores_text(section['broker_cores_during_drain'])} (over {_seconds_text(section['drain_wall_seconds'])})"
                rows.append(("throughput", f"{label}: cores of the workers / the broker while draining", _with_reason(drained, section["broker_cpu_unmeasured_reason"])))
    for key, value in report["ratios"].items():
        rows.append(("ratio", key.replace("_", " "), _text(value)))
    for run in report["latency"] or ():
        rate = run["offered_events_per_second"]
        rows.append(("latency", f"{rate}/s offered: sent / screened (2nd half)", f"{_text(run['sent_events_per_second'])} / {_text(run['screened_events_per_second_second_half'])} events/s"))
        rows.append(("latency", f"{rate}/s offered: kept up", f"{_text(run['kept_up'])} (input lag {_text(run['input_lag_at_window_end'])} at window end, {_text(run['input_lag_growth_per_second'])}/s growth)"))
        for topic, summary in run["latency_ms"].items():
            shown = "-" if summary is None else f"p50 {summary['p50_ms']:.0f} / p95 {summary['p95_ms']:.0f} / p99 {summary['p99_ms']:.0f} ms (n={summary['count']})"
            rows.append(("latency", f"{rate}/s offered: {topic}", shown))
    memory = report["memory"] or {}
    worker = memory.get("worker")
    if worker:
        rows.append(("memory", "worker RSS at first output / input drained", f"{_text(worker['rss_at_first_output_mib'])} / {_text(worker['rss_at_input_drained_mib'])} MiB"))
    orders_table = memory.get("orders_table")
    if orders_table:
        city = orders_table["city"]
        held = f"{_text(orders_table['open_orders'])} open orders, {city['days']} simulated days at {_text(city['appeals_per_day'])} appeals/day"
        for form, figures in orders_table["stored_forms"].items():
            rows.append(("memory", f"orders table RSS per 100k open orders, stored as {form}", f"{_text(figures['rss_per_100k_open_orders_mib'])} MiB ({held})"))
    dedupe = memory.get("dedupe_index")
    if dedupe:
        rows.append(("memory", f"dedupe index per {dedupe['days']} days (tracemalloc)", f"{_text(dedupe['bytes_per_30_days_mib'])} MiB, {_text(dedupe['index_entries'])} entries"))
    for goal in report["goals"]:
        rows.append(("goal", goal["goal"], f"{_text(goal['met'])} (measured {_text(goal['measured'])})"))
    for phase, message in report["errors"].items():
        rows.append(("error", phase, message))
    return rows
