"""One text's explanation from its sentences' translations along the route, hop by hop."""

from __future__ import annotations

from collections.abc import Sequence

from argos_core.alignment import WordWeights, word_weights
from argos_core.engine import SentenceTranslation
from argos_core.scores import text_log_probability
from argos_protocol.explain import MIN_WEIGHT, SentenceExplanation, Span, TextExplanation
from argos_protocol.sentences import SplitText


def text_explanation(
    split: SplitText,
    hops: Sequence[Sequence[SentenceTranslation]],
    log_probabilities: Sequence[float],
    pivots: tuple[str, ...],
) -> TextExplanation:
    """`hops[h][i]`: sentence i of the text as hop h translated it (the last hop's is the
    translation); `log_probabilities[i]`: sentence i's over the whole route. Offsets are moved
    from each sentence to the whole text and its translation."""
    translated = hops[-1]
    sentences = []
    source_at = target_at = len(split.leading)
    for index, (sentence, separator) in enumerate(
        zip(split.sentences, split.separators, strict=True)
    ):
        best = translated[index].best
        alignments = sentence_weights([hop[index] for hop in hops]).alignments(MIN_WEIGHT)
        sentences.append(
            SentenceExplanation(
                Span(source_at, source_at + len(sentence), sentence),
                Span(target_at, target_at + len(best), best),
                log_probabilities[index],
                tuple(a.shifted(source_at, target_at) for a in alignments),
            )
        )
        source_at += len(sentence) + len(separator)
        target_at += len(best) + len(separator)
    log_probability = text_log_probability(log_probabilities, translated)
    return TextExplanation(
        split.join([sentence.best for sentence in translated]),
        0.0 if log_probability is None else log_probability,
        tuple(sentences),
        pivots,
    )


def sentence_weights(route: Sequence[SentenceTranslation]) -> WordWeights:
    """A sentence's word weights from source to final translation, composed over its hops."""
    weights: WordWeights | None = None
    for hop in route:
        if hop.attention is None:
            raise ValueError("explaining needs every hop decoded with attention")
        step = word_weights(hop.attention)
        weights = step if weights is None else weights.then(step)
    if weights is None:
        raise ValueError("a route has at least one hop")
    return weights
