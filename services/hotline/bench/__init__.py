"""`hotline bench`: throughput, latency, scale-out and memory of the pipeline against baselines.

`stats` and `report` are pure (figures in, figures out); `broker`, `kafka_io`, `processes`
and `phases` do the I/O (a throwaway broker, producing, consumer-group lag, worker
processes); `forwarder` is the tiny Faust app of the forward-only baseline; `order_memory`
holds a large simulated city's open orders in child processes to measure the orders table;
`offline_chain` runs the pure chain on the input in a child process, without Kafka.
"""
