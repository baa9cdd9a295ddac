"""Direct Kafka ingestion for the transformer (off unless bootstrap servers are configured).

`settings.KafkaSettings` (CLI flags / environment), `bridge.KafkaBridge` (the background thread
and its rebalance listener), `delivery_loop.DeliveryLoop` (poll, outcome, ordered writes, commits:
see its docstring for the steps and their modules), and `cli` (send texts to a topic and print
the translations, for demos and smoke tests).
"""
