from hotline.contract import topics
from hotline.stream.app import app, changelog_topic_specs
from hotline.stream import worker  # noqa: F401  (registers every agent and table)


def test_every_table_has_a_compacted_changelog_spec_partitioned_like_the_topics():
    specs = {spec.name: spec for spec in changelog_topic_specs()}
    assert sorted(specs) == sorted(f"{app.conf.id}-{name}-changelog" for name in app.tables)
    # One table per stage that keeps state (a merge shares its stage's table).
    assert sorted(app.tables) == ["callers", "dedupe", "escalation-budgets", "office-pressure", "order-rates", "orders", "screen-clocks"]
    assert {(spec.compacted, spec.partitions, spec.kafka_configs()["cleanup.policy"]) for spec in specs.values()} == {(True, topics.DEFAULT_PARTITIONS, "compact")}


def test_the_worker_consumes_through_hotline_s_transport_and_produces_through_faust_s():
    from hotline.stream import consumer

    assert [url.scheme for url in app.conf.broker_consumer] == [consumer.SCHEME]
    assert [url.scheme for url in app.conf.broker_producer] == ["kafka"]
    assert app.transport.Consumer is consumer.Consumer
