"""The benchmark report: figures of every phase, their ratios to the baselines, the goals.

Consumes the plain dicts the phases produce (any phase may be missing: skipped or
failed); produces the JSON document `hotline bench --output` writes and the rows of the
table it prints. Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

from hotline.bench import stats

GOAL_END_TO_END_EVENTS_PER_SECOND_PER_WORKER = 5_000
GOAL_END_TO_END_TO_PASSTHROUGH = 0.1
GOAL_BATCHED_FORWARDER_TO_PASSTHROUGH = 0.3
GOAL_OFFLINE_CHAIN_EVENTS_PER_SECOND = 20_000
GOAL_LATENCY_RATE = 1000
GOAL_P99_MS = {"hotline.cases.v1": 1000.0, "hotline.deadlines.v1": 500.0}
GOAL_TWO_WORKERS_TO_ONE = 1.7
GOAL_BYTES_PER_OPEN_ORDER = 1000
# The orders table's stored form a worker holds, unless the memory figures name it.
WORKER_STORED_FORM = "orjson"
NOT_MEASURED = "not measured"
SOAK = "see make soak"


def _rate(section: dict | None) -> float | None:
    return None if section is None else section.get("events_per_second")


def _end_to_end(section: dict | None) -> float | None:
    return None if section is None else section.get("end_to_end_events_per_second")


def _rounded(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def batched_forwarder(baselines: dict[str, dict | None]) -> tuple[str | None, dict | None]:
    """The baseline of a Faust forwarder that consumes in batches: its key and figures,
    (None, None) when the run has none. `faust_forward_baseline` measures it beside the
    per-message forwarder, under "batched"."""
    batched = (baselines.get("faust_forward") or {}).get("batched")
    return (None, None) if batched is None else ("faust_forward.batched", batched)


def headline(baselines: dict[str, dict | None], pipeline: dict | None) -> dict[str, Any]:
    """The end-to-end rate of one worker beside the screened rate and the baselines of the
    same run, and its ratio to the raw aiokafka passthrough."""
    passthrough = _rate(baselines.get("aiokafka_passthrough"))
    forwarder = _rate(baselines.get("faust_forward"))
    batched_key, batched = batched_forwarder(baselines)
    batched_rate = _rate(batched)
    end_to_end, screened = _end_to_end(pipeline), _rate(pipeline)
    return {
        "end_to_end_events_per_second": end_to_end,
        "screened_events_per_second": screened,
        "faust_forward_events_per_second": forwarder,
        "faust_forward_batched_events_per_second": batched_rate if batched_key is not None else NOT_MEASURED,
        "aiokafka_passthrough_events_per_second": passthrough,
        "end_to_end_to_aiokafka_passthrough": _rounded(stats.ratio(end_to_end, passthrough)),
        "screened_to_aiokafka_passthrough": _rounded(stats.ratio(screened, passthrough)),
        "faust_forward_to_aiokafka_passthrough": _rounded(stats.ratio(forwarder, passthrough)),
        "faust_forward_batched_to_aiokafka_passthrough": _rounded(stats.ratio(batched_rate, passthrough)),
        "method": "end to end: input events / seconds from the first output until the group's committed lag is 0 on "
        "every topic it reads (all stages drained), one worker; screened: the same events / seconds until its lag "
        "on hotline.events.v1 is 0; the baselines drain the same pre-produced events in the same run, the passthrough "
        "timed to its last delivery and the Faust forwarders to their last output",
    }


def ratios(baselines: dict[str, dict | None], pipeline: dict | None, scaleout: dict | None) -> dict[str, float | None]:
    kafka, aiokafka, faust = (baselines.get(name) for name in ("kafka_consumer", "aiokafka_passthrough", "faust_forward"))
    return {
        "end_to_end_to_aiokafka_passthrough": _rounded(stats.ratio(_end_to_end(pipeline), _rate(aiokafka))),
        "end_to_end_to_faust_forward": _rounded(stats.ratio(_end_to_end(pipeline), _rate(faust))),
        "pipeline_to_aiokafka_passthrough": _rounded(stats.ratio(_rate(pipeline), _rate(aiokafka))),
        "pipeline_to_faust_forward": _rounded(stats.ratio(_rate(pipeline), _rate(faust))),
        "faust_forward_to_aiokafka_passthrough": _rounded(stats.ratio(_rate(faust), _rate(aiokafka))),
        "faust_forward_hotline_consumer_to_aiokafka_passthrough": _rounded(stats.ratio(_rate((faust or {}).get("project_consumer")), _rate(aiokafka))),
        "faust_forward_batched_to_aiokafka_passthrough": _rounded(stats.ratio(_rate((faust or {}).get("batched")), _rate(aiokafka))),
        "aiokafka_passthrough_to_kafka_consumer": _rounded(stats.ratio(_rate(aiokafka), _rate(kafka))),
        "two_workers_to_one_worker_end_to_end": _rounded(stats.ratio(_end_to_end(scaleout), _end_to_end(pipeline))),
        "two_workers_to_one_worker": _rounded(stats.ratio(_rate(scaleout), _rate(pipeline))),
    }


def _at_least(measured: float | None, target: float) -> bool | None:
    return None if measured is None else measured >= target


def _latency_goal(latency: list[dict] | None) -> tuple[Any, bool | None]:
    run = next((run for run in latency or () if run["offered_events_per_second"] == GOAL_LATENCY_RATE), None)
    if run is None:
        return None, None
    if not run["kept_up"]:
        return "did not keep up", False
    summaries = {topic: run["latency_ms"].get(topic) for topic in GOAL_P99_MS}
    unmatched = [topic for topic, summary in summaries.items() if summary is None]
    if unmatched:
        return f"kept up; no outputs matched on {', '.join(unmatched)}", None
    measured = ", ".join(f"{topic} p99 {summaries[topic]['p99_ms']:,.0f} ms" for topic in GOAL_P99_MS)
    return f"kept up; {measured}", all(summaries[topic]["p99_ms"] < limit for topic, limit in GOAL_P99_MS.items())


def _bytes_per_open_order(memory: dict | None) -> tuple[float | None, str | None]:
    orders_table = (memory or {}).get("orders_table")
    if not orders_table:
        return None, None
    form = orders_table.get("worker_stored_form", WORKER_STORED_FORM)
    figures = orders_table.get("stored_forms", {}).get(form)
    return (None, None) if figures is None else (figures.get("bytes_per_open_order"), form)


def goals(
    head: dict[str, Any],
    ratio_table: dict[str, float | None],
    latency: list[dict] | None,
    offline: dict | None,
    memory: dict | None,
) -> list[dict[str, Any]]:
    """Each goal with what was measured and whether it is met (None: not measured)."""
    end_to_end = head["end_to_end_events_per_second"]
    to_passthrough = head["end_to_end_to_aiokafka_passthrough"]
    batched = head["faust_forward_batched_to_aiokafka_passthrough"]
    batched_measured = NOT_MEASURED if head["faust_forward_batched_events_per_second"] == NOT_MEASURED else batched
    offline_rate = ((offline or {}).get("replay_orders") or {}).get("events_per_cpu_second")
    latency_measured, latency_met = _latency_goal(latency)
    two_to_one = ratio_table["two_workers_to_one_worker_end_to_end"]
    per_order, form = _bytes_per_open_order(memory)
    p99_targets = " and ".join(f"< {limit:,.0f} ms to {topic}" for topic, limit in GOAL_P99_MS.items())
    return [
        {
            "goal": f"end to end >= {GOAL_END_TO_END_EVENTS_PER_SECOND_PER_WORKER:,} input events/s per worker",
            "measured": end_to_end,
            "met": _at_least(end_to_end, GOAL_END_TO_END_EVENTS_PER_SECOND_PER_WORKER),
        },
        {
            "goal": f"end to end >= {GOAL_END_TO_END_TO_PASSTHROUGH} of the raw aiokafka passthrough",
            "measured": to_passthrough,
            "met": _at_least(to_passthrough, GOAL_END_TO_END_TO_PASSTHROUGH),
        },
        {
            "goal": f"batched Faust forwarder >= {GOAL_BATCHED_FORWARDER_TO_PASSTHROUGH} of the raw aiokafka passthrough",
            "measured": batched_measured,
            "met": None if batched_measured == NOT_MEASURED else _at_least(batched, GOAL_BATCHED_FORWARDER_TO_PASSTHROUGH),
        },
        {
            "goal": f"pure chain offline (replay_orders) >= {GOAL_OFFLINE_CHAIN_EVENTS_PER_SECOND:,} events per CPU second",
            "measured": offline_rate,
            "met": _at_least(offline_rate, GOAL_OFFLINE_CHAIN_EVENTS_PER_SECOND),
        },
        {
            "goal": f"{GOAL_LATENCY_RATE:,} events/s offered kept up with p99 {p99_targets}",
            "measured": latency_measured,
            "met": latency_met,
        },
        {
            "goal": f"two workers >= {GOAL_TWO_WORKERS_TO_ONE}x one (end to end)",
            "measured": two_to_one,
            "met": _at_least(two_to_one, GOAL_TWO_WORKERS_TO_ONE),
        },
        {
            "goal": f"<= {GOAL_BYTES_PER_OPEN_ORDER:,} bytes per open order in the orders table"
            + (f" (stored as {form})" if form else ""),
            "measured": per_order,
            "met": None if per_order is None else per_order <= GOAL_BYTES_PER_OPEN_ORDER,
        },
        {"goal": "soak: a million events through one worker, resident memory bounded", "measured": SOAK, "met": None},
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
    offline: dict | None = None,
) -> dict[str, Any]:
    head = headline(baselines, pipeline)
    ratio_table = ratios(baselines, pipeline, scaleout)
    return {
        "command": command,
        "headline": head,
        "machine": machine,
        "setup": setup,
        "baselines": baselines,
        "pipeline_one_worker": pipeline,
        "pipeline_two_workers": scaleout,
        "ratios": ratio_table,
        "offline_chain": offline,
        "latency": latency,
        "memory": memory,
        "goals": goals(head, ratio_table, latency, offline, memory),
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
    rows: list[tuple[str, str, str]] = [*headline_rows(report["headline"])]
    rows += [
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
    batched_key, batched = batched_forwarder(report["baselines"])
    if batched_key is not None:
        rows.append(("throughput", "(c') batched Faust forwarder events/s", _text(_rate(batched))))
    for key, label in (("pipeline_one_worker", "full pipeline, 1 worker"), ("pipeline_two_workers", "full pipeline, 2 workers")):
        section = report[key]
        rows.append(("throughput", f"{label}: end to end events/s (all stages drained)", _text(_end_to_end(section))))
        rows.append(("throughput", f"{label}: screened events/s (input lag 0)", _text(_rate(section))))
        if section is not None:
            rows.append(("throughput", f"{label}: CPU s per 1000 events (until input lag 0)", _text(section.get("cpu_seconds_per_1000_events"))))
            end_to_end_cpu = f"{_text(section.get('end_to_end_cpu_seconds_per_1000_events'))} ({_cores_text(section.get('end_to_end_worker_cores'))} cores)"
            rows.append(("throughput", f"{label}: CPU s per 1000 events until all stages drained", end_to_end_cpu))
            rows.append(("throughput", f"{label}: all stages drained after", _text(section.get("first_output_to_all_stages_drained_seconds"), " s")))
            if section.get("runs"):
                rows.append(("throughput", f"{label}: end to end events/s of each run (figures: the median run)", each_run_text(section["runs"])))
            if "worker_cores_during_drain" in section:
                drained = f"{_cores_text(section['worker_cores_during_drain'])} / {_cores_text(section['broker_cores_during_drain'])} (over {_seconds_text(section['drain_wall_seconds'])})"
                rows.append(("throughput", f"{label}: cores of the workers / the broker while draining", _with_reason(drained, section["broker_cpu_unmeasured_reason"])))
    for key, value in report["ratios"].items():
        rows.append(("ratio", key.replace("_", " "), _text(value)))
    for key, label in (("pipeline_one_worker", "1 worker"), ("pipeline_two_workers", "2 workers")):
        rows += message_rows(label, (report[key] or {}).get("messages"))
    offline = report.get("offline_chain") or {}
    for key, chain in (("replay_orders", "screen -> orders -> deadlines -> escalate"), ("run_offline", "screen -> judge -> dedupe")):
        figures = offline.get(key)
        if figures:
            rows.append(("offline", f"{key} ({chain}) events per CPU s", f"{_text(figures['events_per_cpu_second'])} ({_text(figures['events'])} events, {_text(figures['events_per_wall_second'])}/s wall clock)"))
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
        rows.append(("goal", goal["goal"], goal_text(goal)))
    for phase, message in report["errors"].items():
        rows.append(("error", phase, message))
    return rows


def goal_text(goal: dict[str, Any]) -> str:
    """"yes (measured 0.25)", "no (measured did not keep up)"; without a verdict what
    was measured instead, or "not measured"."""
    if goal["met"] is not None:
        return f"{_text(goal['met'])} (measured {_text(goal['measured'])})"
    if goal["measured"] is None:
        return NOT_MEASURED
    return _text(goal["measured"])


def each_run_text(runs: list[dict[str, Any]]) -> str:
    """`--pipeline-runs`: each run's end-to-end rate and CPU s per 1000 events, in run order."""
    return ", ".join(f"{_text(run.get('end_to_end_events_per_second'))} ({_text(run.get('end_to_end_cpu_seconds_per_1000_events'))} CPU s)" for run in runs)


def headline_rows(head: dict[str, Any]) -> list[tuple[str, str, str]]:
    batched = head["faust_forward_batched_events_per_second"]
    return [
        ("headline", "end to end, 1 worker: input events/s until every stage drained", _text(head["end_to_end_events_per_second"])),
        ("headline", "screened, 1 worker: input events/s until the input lag was 0", _text(head["screened_events_per_second"])),
        ("headline", "Faust forward-only agent events/s", _text(head["faust_forward_events_per_second"])),
        ("headline", "batched Faust forwarder events/s", batched if batched == NOT_MEASURED else _text(batched)),
        ("headline", "raw aiokafka passthrough events/s", _text(head["aiokafka_passthrough_events_per_second"])),
        ("headline", "end to end / aiokafka passthrough", _text(head["end_to_end_to_aiokafka_passthrough"])),
        ("headline", "screened / aiokafka passthrough", _text(head["screened_to_aiokafka_passthrough"])),
        ("headline", "Faust forwarder / aiokafka passthrough", _text(head["faust_forward_to_aiokafka_passthrough"])),
    ]


def message_rows(label: str, messages: dict | None) -> list[tuple[str, str, str]]:
    """Kafka messages per input event by kind, then each topic's count (the app's own
    topics named by their suffix)."""
    if not messages:
        return []
    per = messages["per_input_event"]
    drained = "" if messages.get("all_stages_drained", True) else " (stages not drained: a lower bound)"
    rows = [
        (
            "messages",
            f"{label}: per input event, derived / stage-to-stage / changelog = total",
            f"{_ratio_text(per['derived'])} / {_ratio_text(per['stage_to_stage'])} / {_ratio_text(per['changelog'])} = {_ratio_text(per['total'])}{drained}",
        )
    ]
    if messages.get("read") and messages["read"]["per_input_event"] is not None:
        rows.append(("messages", f"{label}: read by the workers per input event (each a hop)", f"{_ratio_text(messages['read']['per_input_event'])}{drained}"))
    app_id = messages.get("app_id")
    for name, topic in messages["by_topic"].items():
        shown = f"<app>-{name[len(app_id) + 1:]}" if app_id and name.startswith(app_id + "-") else name
        rows.append(("messages", f"{label}: {shown} ({topic['kind'].replace('_', '-')})", f"{_text(topic['messages'])} ({_ratio_text(stats.ratio(topic['messages'], messages['input_events']))} per input event)"))
    return rows


def _ratio_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
