"""Prometheus metrics of the core, registered in the default registry that servers expose."""

from prometheus_client import Counter, Gauge, Histogram

BATCH_SIZE = Histogram(
    "argos_batch_size_sentences",
    "Sentences per CTranslate2 translate_batch call",
    ["pair"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
)
BATCH_SECONDS = Histogram(
    "argos_batch_duration_seconds",
    "Wall time of one translate_batch call (tokenize, translate, detokenize)",
    ["pair"],
)
WIDE_BATCHES = Counter(
    "argos_wide_batches_total",
    "Batches translated alone on the replica with every thread (`wide_threads`)",
    ["pair"],
)
QUEUE_SENTENCES = Gauge("argos_queue_sentences", "Sentences waiting for a batch")
OVERLOADED = Counter("argos_overloaded_total", "Requests refused because the queue was full")
SENTENCES = Counter("argos_sentences_translated_total", "Sentences translated", ["pair"])
CACHE_HITS = Counter("argos_cache_hits_total", "Sentence cache hits", ["pair"])
CACHE_MISSES = Counter("argos_cache_misses_total", "Sentence cache misses", ["pair"])
