"""Direct Kafka ingestion for the transformer (off unless bootstrap servers are configured).

`settings.KafkaSettings` (CLI flags / environment), `bridge.KafkaBridge` (the background
consumer-translator-producer), `consumer_loop.DeliveryEngine` (delivery semantics), and
`cli` (send texts to a topic and print the translations, for demos and smoke tests).
"""
