"""The shared English/Spanish SentencePiece vocabulary, trained with the sentencepiece trainer.

Ids 0-3 are fixed so the torch model, the CTranslate2 vocabulary and the tokenizer agree:
0 `<blank>` (padding), 1 `<unk>`, 2 `<s>` (decoder start), 3 `</s>`.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

import sentencepiece as spm

from argos_demo.model import BOS_ID, EOS_ID, PAD_ID, UNK_ID

SPECIAL_PIECES = {PAD_ID: "<blank>", UNK_ID: "<unk>", BOS_ID: "<s>", EOS_ID: "</s>"}


def train_sentencepiece(
    sentences: Iterable[str],
    output: Path,
    vocab_size: int = 256,
    *,
    character_coverage: float = 1.0,
    num_threads: int = 1,
) -> Path:
    """Train a unigram model on both languages' sentences and write it to `output`.

    The domain has about 240 word forms, so `vocab_size` is an upper bound
    (hard_vocab_limit=False): the trainer keeps whole words plus a few shared suffixes.
    One trainer thread and no input sampling keep the result identical between runs.
    """
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(list(sentences)),
        model_writer=model,
        model_type="unigram",
        vocab_size=vocab_size,
        hard_vocab_limit=False,
        character_coverage=character_coverage,
        pad_id=PAD_ID,
        pad_piece=SPECIAL_PIECES[PAD_ID],
        unk_id=UNK_ID,
        unk_piece=SPECIAL_PIECES[UNK_ID],
        bos_id=BOS_ID,
        bos_piece=SPECIAL_PIECES[BOS_ID],
        eos_id=EOS_ID,
        eos_piece=SPECIAL_PIECES[EOS_ID],
        num_threads=num_threads,
        input_sentence_size=0,
        shuffle_input_sentence=False,
        minloglevel=2,
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(model.getvalue())
    return output


def load_processor(path: Path) -> spm.SentencePieceProcessor:
    return spm.SentencePieceProcessor(model_file=str(path))


def vocabulary_tokens(processor: spm.SentencePieceProcessor) -> list[str]:
    """The pieces in id order: the CTranslate2 source and target vocabulary."""
    tokens = [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
    for piece_id, piece in SPECIAL_PIECES.items():
        if tokens[piece_id] != piece:
            raise ValueError(f"piece {piece_id} is {tokens[piece_id]!r}, expected {piece!r}")
    return tokens
