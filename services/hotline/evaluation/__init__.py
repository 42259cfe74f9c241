"""Offline evaluation: run the pure stages over a recorded or simulated event file and
score their decisions against a truth file (no Kafka, no Faust)."""
