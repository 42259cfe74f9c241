from hotline.contract import topics


def test_deployment_topics_give_every_stage_topic_the_deployment_count():
    specs = topics.deployment_topics("hotline", 8)
    counts = {spec.name: spec.partitions for spec in specs}
    assert counts == {
        "hotline.events.v1": 8,
        "hotline.offices.v1": 1,  # reference data every worker reads whole
        "hotline.screened.v1": 8,
        "hotline.cases.v1": 8,
        "hotline.deadlines.v1": 8,
        "hotline.escalations.v1": 8,
        "hotline.pressure.v1": 8,
        "hotline.alerts.v1": 8,
        "hotline.office-rates.v1": 8,
        "hotline.deadletter.v1": 8,
        "hotline-appeals-by-caller": 8,
        "hotline-appeals-by-place": 8,
        "hotline-office-facts": 8,
        "hotline-escalation-proposals": 8,
        "hotline-clock-ticks": 8,
        "hotline-order-rates": 8,
        "hotline-screened-by-order": 8,
    }


def test_deployment_topics_default_to_four_partitions_and_keep_the_configs():
    specs = {spec.name: spec for spec in topics.deployment_topics("app")}
    assert specs["hotline.events.v1"].partitions == topics.DEFAULT_PARTITIONS == 4
    assert specs["hotline.events.v1"].kafka_configs() == {"cleanup.policy": "delete", "retention.ms": "-1"}
    assert specs["hotline.offices.v1"].kafka_configs() == {"cleanup.policy": "compact"}


def test_partition_mismatches_name_each_topic_with_both_counts():
    specs = topics.deployment_topics("hotline", 8)
    counts = {"hotline.events.v1": 4, "hotline.offices.v1": 1, "hotline.cases.v1": 8}
    assert topics.partition_mismatches(specs, counts) == ["hotline.events.v1 has 4 partitions, the deployment expects 8"]


def test_topics_the_broker_does_not_have_are_no_mismatch():
    assert topics.partition_mismatches(topics.deployment_topics("hotline", 8), {}) == []


def test_the_office_rates_are_compacted_the_latest_figures_of_a_key_being_what_counts():
    assert topics.by_name("hotline.office-rates.v1").kafka_configs() == {"cleanup.policy": "compact"}
