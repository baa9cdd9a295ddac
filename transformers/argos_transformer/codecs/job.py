"""The one internal form every request format is decoded into."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import Enum

from argos_protocol import PLAIN, TextItem, TranslationOptions

Pair = tuple[str | None, str | None]


class ReplyShape(Enum):
    """How the answer is encoded: it follows the shape of the request."""

    V1 = "v1"  # {"predictions": [...]}
    RECORD = "record"  # {"id", "translation", "source", "target"}
    TEXT = "text"  # the translation as text/plain
    V2 = "v2"  # an InferResponse with a BYTES output "translation"


@dataclass(frozen=True)
class TranslationJob:
    """Texts to translate from `source` to `target` (None: the predictor's default).

    `pairs`, when set, gives each text its own (source, target); `id` identifies a record (from
    the input, or the CloudEvent / Kafka coordinates); `options` is what the request asked for
    beyond the best translation (V1/V2 `parameters.alternatives`, `return_scores`).
    """

    texts: tuple[str, ...]
    source: str | None = None
    target: str | None = None
    id: str | None = None
    shape: ReplyShape = ReplyShape.V1
    pairs: tuple[Pair, ...] | None = None
    options: TranslationOptions = PLAIN

    def __post_init__(self) -> None:
        if self.pairs is not None and len(self.pairs) != len(self.texts):
            raise ValueError("pairs must have one entry per text")

    def items(self) -> Iterator[tuple[str, str | None, str | None]]:
        """(text, source, target) for each text, with per-text pairs applied."""
        for index, text in enumerate(self.texts):
            source, target = self.pairs[index] if self.pairs else (self.source, self.target)
            yield text, source, target

    @classmethod
    def of_items(
        cls,
        items: Sequence[TextItem],
        shape: ReplyShape,
        job_id: str | None = None,
        default: Pair = (None, None),
        options: TranslationOptions = PLAIN,
    ) -> TranslationJob:
        """A job of protocol items: one pair for all when they agree, else one per text
        (`default` is the job-level pair then, as the request gave it)."""
        pairs = [(item.source, item.target) for item in items]
        uniform = all(pair == pairs[0] for pair in pairs)
        return cls(
            texts=tuple(item.text for item in items),
            source=pairs[0][0] if uniform and pairs else default[0],
            target=pairs[0][1] if uniform and pairs else default[1],
            id=job_id,
            shape=shape,
            pairs=None if uniform else tuple(pairs),
            options=options,
        )
