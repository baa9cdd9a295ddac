"""Train the torch Transformer on the synthetic corpus (CPU, fixed seeds, tqdm progress)."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

import sentencepiece as spm
import torch
import torch.nn.functional as F
from tqdm import tqdm

from argos_demo.grammar import SentencePair
from argos_demo.logs import event, get_logger
from argos_demo.model import BOS_ID, EOS_ID, PAD_ID, ModelConfig, Seq2SeqTransformer

log = get_logger("training")


@dataclass(frozen=True)
class TrainingConfig:
    max_steps: int = 1200
    batch_size: int = 96
    learning_rate: float = 1e-3
    warmup_steps: int = 200
    final_lr_fraction: float = 0.1
    label_smoothing: float = 0.1
    clip_norm: float = 1.0
    seed: int = 1234
    # One thread: at this model size a second one gains nothing and contends with other work.
    threads: int = 1
    eval_every: int = 200
    # Stop early once greedy decoding gets this share of the development set exactly right
    # at `stop_patience` evaluations in a row (later steps only sharpen a converged model).
    stop_at_dev_exact: float | None = 1.0
    stop_patience: int = 2

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainingResult:
    model: Seq2SeqTransformer
    steps: int
    seconds: float
    first_loss: float
    final_loss: float
    dev_exact: float | None
    loss_curve: list[tuple[int, float]] = field(default_factory=list)

    def summary(self) -> dict:
        return {
            "steps": self.steps,
            "seconds": round(self.seconds, 1),
            "first_loss": round(self.first_loss, 4),
            "final_loss": round(self.final_loss, 4),
            "dev_exact": self.dev_exact,
        }


def _pad(rows: list[list[int]]) -> torch.Tensor:
    width = max(len(row) for row in rows)
    return torch.tensor([row + [PAD_ID] * (width - len(row)) for row in rows], dtype=torch.long)


def encode_sources(processor: spm.SentencePieceProcessor, texts: list[str]) -> torch.Tensor:
    return _pad(processor.encode(texts))


def encode_targets(processor: spm.SentencePieceProcessor, texts: list[str]) -> torch.Tensor:
    return _pad([[BOS_ID, *ids, EOS_ID] for ids in processor.encode(texts)])


def _trim(batch: torch.Tensor) -> torch.Tensor:
    """Drop the all-padding columns at the end of a batch."""
    width = int((batch != PAD_ID).sum(dim=1).max())
    return batch[:, :width]


def _learning_rate(config: TrainingConfig, step: int) -> float:
    if step < config.warmup_steps:
        return config.learning_rate * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(config.max_steps - config.warmup_steps, 1)
    cosine = 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
    floor = config.final_lr_fraction
    return config.learning_rate * (floor + (1 - floor) * cosine)


def greedy_translate(
    model: Seq2SeqTransformer,
    processor: spm.SentencePieceProcessor,
    texts: list[str],
    batch_size: int = 128,
) -> list[str]:
    was_training = model.training
    model.eval()
    outputs: list[str] = []
    for start in range(0, len(texts), batch_size):
        source = encode_sources(processor, texts[start : start + batch_size])
        outputs += [processor.decode(ids) for ids in model.greedy(source)]
    model.train(was_training)
    return outputs


def exact_match(hypotheses: list[str], references: list[str]) -> float:
    return sum(h == r for h, r in zip(hypotheses, references, strict=True)) / len(references)


def train(
    model_config: ModelConfig,
    config: TrainingConfig,
    processor: spm.SentencePieceProcessor,
    train_pairs: list[SentencePair],
    dev_pairs: list[SentencePair] | None = None,
    progress: bool = True,
) -> TrainingResult:
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    batches = torch.Generator().manual_seed(config.seed)

    sources = encode_sources(processor, [p.en for p in train_pairs])
    targets = encode_targets(processor, [p.es for p in train_pairs])
    model = Seq2SeqTransformer(model_config)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate, betas=(0.9, 0.98))
    event(
        log, "train_start", sentences=len(train_pairs),
        parameters=sum(p.numel() for p in model.parameters()),
        max_steps=config.max_steps, batch_size=config.batch_size, threads=config.threads,
    )

    started = time.monotonic()
    order = torch.randperm(len(train_pairs), generator=batches)
    cursor = 0
    losses: list[float] = []
    curve: list[tuple[int, float]] = []
    first_loss: float | None = None
    dev_exact: float | None = None
    converged_checks = 0
    step = 0
    bar = tqdm(
        total=config.max_steps, desc="train", unit="step", disable=not progress, mininterval=1.0
    )
    try:
        for step in range(1, config.max_steps + 1):
            if cursor + config.batch_size > len(order):
                order = torch.randperm(len(train_pairs), generator=batches)
                cursor = 0
            index = order[cursor : cursor + config.batch_size]
            cursor += config.batch_size
            source, target = _trim(sources[index]), _trim(targets[index])

            for group in optimizer.param_groups:
                group["lr"] = _learning_rate(config, step - 1)
            logits = model(source, target[:, :-1])
            loss = F.cross_entropy(
                logits.reshape(-1, logits.shape[-1]),
                target[:, 1:].reshape(-1),
                ignore_index=PAD_ID,
                label_smoothing=config.label_smoothing,
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip_norm)
            optimizer.step()

            value = loss.item()
            first_loss = value if first_loss is None else first_loss
            losses.append(value)
            bar.update(1)
            if step % 50 == 0:
                bar.set_postfix(loss=f"{sum(losses[-50:]) / len(losses[-50:]):.3f}")
            if step % config.eval_every == 0 or step == config.max_steps:
                recent = losses[-config.eval_every :]
                curve.append((step, sum(recent) / len(recent)))
                if dev_pairs:
                    hypotheses = greedy_translate(model, processor, [p.en for p in dev_pairs])
                    dev_exact = exact_match(hypotheses, [p.es for p in dev_pairs])
                event(
                    log, "train_progress", step=step, loss=curve[-1][1],
                    lr=optimizer.param_groups[0]["lr"], dev_exact=dev_exact,
                    elapsed_s=round(time.monotonic() - started, 1),
                )
                converged = (
                    config.stop_at_dev_exact is not None
                    and dev_exact is not None
                    and dev_exact >= config.stop_at_dev_exact
                )
                converged_checks = converged_checks + 1 if converged else 0
                if converged_checks >= config.stop_patience:
                    event(log, "train_early_stop", step=step, dev_exact=dev_exact)
                    break
    finally:
        bar.close()
    model.eval()
    final = sum(losses[-50:]) / len(losses[-50:])
    result = TrainingResult(
        model=model,
        steps=step,
        seconds=time.monotonic() - started,
        first_loss=first_loss if first_loss is not None else math.nan,
        final_loss=final,
        dev_exact=dev_exact,
        loss_curve=curve,
    )
    event(log, "train_done", **result.summary())
    return result
