"""Pure rules of the processor. Nothing here imports faust, aiokafka, kafka-python or
prometheus_client, and nothing reads the wall clock: time is passed in."""
