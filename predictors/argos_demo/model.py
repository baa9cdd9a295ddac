"""A small pre-norm Transformer encoder-decoder laid out exactly like CTranslate2's TransformerSpec.

Choices that make torch and CTranslate2 compute the same function:
- pre-norm layers with a final layer norm in encoder and decoder, layer norm eps 1e-6;
- token embeddings multiplied by sqrt(d_model), then sinusoidal position encodings added in
  CTranslate2's own layout (all sines then all cosines, positions from 1; `sinusoidal_positions`);
- one embedding matrix shared by encoder input, decoder input and the output projection;
- self-attention projections fused as [q; k; v], encoder-attention keys/values fused as [k; v];
- ReLU feed-forward; source has no BOS/EOS, the decoder starts from `<s>` and stops at `</s>`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

PAD_ID = 0  # "<blank>"
UNK_ID = 1  # "<unk>"
BOS_ID = 2  # "<s>"
EOS_ID = 3  # "</s>"


@dataclass(frozen=True)
class ModelConfig:
    vocab_size: int
    d_model: int = 128
    num_heads: int = 4
    ffn_dim: int = 256
    encoder_layers: int = 2
    decoder_layers: int = 2
    # The corpus is sampled from a huge sentence space, so overfitting is not the risk;
    # dropout would only slow training (its RNG costs a third of a CPU step).
    dropout: float = 0.0
    layer_norm_eps: float = 1e-6

    def __post_init__(self) -> None:
        if self.d_model % self.num_heads:
            raise ValueError("d_model must be divisible by num_heads")
        if self.d_model % 2:
            raise ValueError("d_model must be even for sinusoidal positions")

    def to_dict(self) -> dict:
        return asdict(self)


def sinusoidal_positions(length: int, depth: int) -> torch.Tensor:
    """CTranslate2's built-in table: row r is [sin(p * t_i) for i] ++ [cos(p * t_i) for i] with
    p = r + 1 (positions count from 1) and t_i = exp(-i * ln(10000) / (depth/2 - 1)), i.e.
    tensor2tensor's timing signal. Checked against CTranslate2's scores in the tests."""
    half = depth // 2
    increment = math.log(10000.0) / max(half - 1, 1)
    timescales = torch.exp(torch.arange(half, dtype=torch.float64) * -increment)
    scaled = torch.arange(1, length + 1, dtype=torch.float64)[:, None] * timescales[None, :]
    return torch.cat([torch.sin(scaled), torch.cos(scaled)], dim=1).float()


class MultiHeadAttention(nn.Module):
    def __init__(self, config: ModelConfig, self_attention: bool) -> None:
        super().__init__()
        d = config.d_model
        self.num_heads = config.num_heads
        self.self_attention = self_attention
        if self_attention:
            self.qkv = nn.Linear(d, 3 * d)
        else:
            self.q = nn.Linear(d, d)
            self.kv = nn.Linear(d, 2 * d)
        self.out = nn.Linear(d, d)
        self.dropout = config.dropout

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        batch, time, d = x.shape
        return x.view(batch, time, self.num_heads, d // self.num_heads).transpose(1, 2)

    def forward(
        self, x: torch.Tensor, memory: torch.Tensor | None, mask: torch.Tensor
    ) -> torch.Tensor:
        """`mask`: bool, broadcastable to [batch, heads, query, key], True where attending is ok."""
        if self.self_attention:
            q, k, v = self.qkv(x).chunk(3, dim=-1)
        else:
            q = self.q(x)
            k, v = self.kv(memory).chunk(2, dim=-1)
        attended = F.scaled_dot_product_attention(
            self._heads(q),
            self._heads(k),
            self._heads(v),
            attn_mask=mask,
            dropout_p=self.dropout if self.training else 0.0,
        )
        batch, _, time, _ = attended.shape
        return self.out(attended.transpose(1, 2).reshape(batch, time, -1))


class FeedForward(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.inner = nn.Linear(config.d_model, config.ffn_dim)
        self.outer = nn.Linear(config.ffn_dim, config.d_model)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.dropout(self.outer(self.dropout(F.relu(self.inner(self.norm(x))))))


class EncoderLayer(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.self_norm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.self_attention = MultiHeadAttention(config, self_attention=True)
        self.ffn = FeedForward(config)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = x + self.dropout(self.self_attention(self.self_norm(x), None, mask))
        return self.ffn(x)


class DecoderLayer(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.self_norm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.self_attention = MultiHeadAttention(config, self_attention=True)
        self.cross_norm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.cross_attention = MultiHeadAttention(config, self_attention=False)
        self.ffn = FeedForward(config)
        self.dropout = nn.Dropout(config.dropout)

    def forward(
        self,
        x: torch.Tensor,
        memory: torch.Tensor,
        self_mask: torch.Tensor,
        memory_mask: torch.Tensor,
    ) -> torch.Tensor:
        x = x + self.dropout(self.self_attention(self.self_norm(x), None, self_mask))
        x = x + self.dropout(self.cross_attention(self.cross_norm(x), memory, memory_mask))
        return self.ffn(x)


class Seq2SeqTransformer(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        d = config.d_model
        self.embedding = nn.Embedding(config.vocab_size, d)
        nn.init.normal_(self.embedding.weight, std=d**-0.5)
        self.embed_scale = math.sqrt(d)
        self.register_buffer("positions", sinusoidal_positions(256, d), persistent=False)
        self.embed_dropout = nn.Dropout(config.dropout)
        self.encoder_layers = nn.ModuleList(
            EncoderLayer(config) for _ in range(config.encoder_layers)
        )
        self.encoder_norm = nn.LayerNorm(d, eps=config.layer_norm_eps)
        self.decoder_layers = nn.ModuleList(
            DecoderLayer(config) for _ in range(config.decoder_layers)
        )
        self.decoder_norm = nn.LayerNorm(d, eps=config.layer_norm_eps)

    def _embed(self, tokens: torch.Tensor) -> torch.Tensor:
        length = tokens.shape[1]
        if length > self.positions.shape[0]:
            self.positions = sinusoidal_positions(length, self.config.d_model).to(tokens.device)
        x = self.embedding(tokens) * self.embed_scale + self.positions[:length]
        return self.embed_dropout(x)

    def encode(self, source: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns the encoder output and the key mask [batch, 1, 1, source_len]."""
        key_mask = (source != PAD_ID)[:, None, None, :]
        x = self._embed(source)
        for layer in self.encoder_layers:
            x = layer(x, key_mask)
        return self.encoder_norm(x), key_mask

    def decode(
        self, target_in: torch.Tensor, memory: torch.Tensor, memory_mask: torch.Tensor
    ) -> torch.Tensor:
        """Logits [batch, target_len, vocab] for every prefix of `target_in` (starts with <s>)."""
        length = target_in.shape[1]
        causal = torch.ones(length, length, dtype=torch.bool, device=target_in.device).tril()
        x = self._embed(target_in)
        for layer in self.decoder_layers:
            x = layer(x, memory, causal[None, None], memory_mask)
        return F.linear(self.decoder_norm(x), self.embedding.weight)

    def forward(self, source: torch.Tensor, target_in: torch.Tensor) -> torch.Tensor:
        memory, memory_mask = self.encode(source)
        return self.decode(target_in, memory, memory_mask)

    @torch.no_grad()
    def greedy(self, source: torch.Tensor, max_length: int = 64) -> list[list[int]]:
        """Greedy decoding (no <s>/</s> in the result), as CTranslate2 does with beam_size=1."""
        memory, memory_mask = self.encode(source)
        batch = source.shape[0]
        target = torch.full((batch, 1), BOS_ID, dtype=torch.long, device=source.device)
        finished = torch.zeros(batch, dtype=torch.bool, device=source.device)
        for _ in range(max_length):
            next_token = self.decode(target, memory, memory_mask)[:, -1].argmax(-1)
            next_token = torch.where(finished, PAD_ID, next_token)
            target = torch.cat([target, next_token[:, None]], dim=1)
            finished |= next_token == EOS_ID
            if bool(finished.all()):
                break
        results = []
        for row in target[:, 1:].tolist():
            ids = row[: row.index(EOS_ID)] if EOS_ID in row else row
            results.append(ids)
        return results
