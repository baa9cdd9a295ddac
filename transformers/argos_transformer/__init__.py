"""KServe transformer in front of the Argos predictor: protocol conversion, text pre/post-
processing, CloudEvents, a LibreTranslate-compatible API and (optionally) Kafka ingestion."""
