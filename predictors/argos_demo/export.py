"""Export a trained `Seq2SeqTransformer` into a CTranslate2 model directory.

Fills `ctranslate2.specs.TransformerSpec` the way the bundled OpenNMT-py converter does, then
validates, optimises (aliases the shared embeddings, optionally quantises) and saves it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from ctranslate2.specs import attention_spec, common_spec, transformer_spec
from torch import nn

from argos_demo.model import (
    DecoderLayer,
    EncoderLayer,
    FeedForward,
    MultiHeadAttention,
    Seq2SeqTransformer,
)


def _array(tensor) -> np.ndarray:
    return tensor.detach().cpu().float().numpy().copy()


def _set_linear(spec: common_spec.LinearSpec, linear: nn.Linear) -> None:
    spec.weight = _array(linear.weight)
    if linear.bias is not None:
        spec.bias = _array(linear.bias)


def _set_layer_norm(spec: common_spec.LayerNormSpec, norm: nn.LayerNorm) -> None:
    spec.gamma = _array(norm.weight)
    spec.beta = _array(norm.bias)


def _set_attention(
    spec: attention_spec.MultiHeadAttentionSpec, norm: nn.LayerNorm, attention: MultiHeadAttention
) -> None:
    _set_layer_norm(spec.layer_norm, norm)
    if attention.self_attention:
        _set_linear(spec.linear[0], attention.qkv)
    else:
        _set_linear(spec.linear[0], attention.q)
        _set_linear(spec.linear[1], attention.kv)
    _set_linear(spec.linear[-1], attention.out)


def _set_ffn(spec: transformer_spec.FeedForwardSpec, ffn: FeedForward) -> None:
    _set_layer_norm(spec.layer_norm, ffn.norm)
    _set_linear(spec.linear_0, ffn.inner)
    _set_linear(spec.linear_1, ffn.outer)


def _set_encoder_layer(
    spec: transformer_spec.TransformerEncoderLayerSpec, layer: EncoderLayer
) -> None:
    _set_attention(spec.self_attention, layer.self_norm, layer.self_attention)
    _set_ffn(spec.ffn, layer.ffn)


def _set_decoder_layer(
    spec: transformer_spec.TransformerDecoderLayerSpec, layer: DecoderLayer
) -> None:
    _set_attention(spec.self_attention, layer.self_norm, layer.self_attention)
    _set_attention(spec.attention, layer.cross_norm, layer.cross_attention)
    _set_ffn(spec.ffn, layer.ffn)


def build_spec(
    model: Seq2SeqTransformer, vocabulary: list[str]
) -> transformer_spec.TransformerSpec:
    config = model.config
    if len(vocabulary) != config.vocab_size:
        raise ValueError(f"vocabulary has {len(vocabulary)} tokens, model has {config.vocab_size}")
    for token in ("<unk>", "<s>", "</s>"):
        if token not in vocabulary:
            raise ValueError(f"vocabulary lacks the special token {token}")
    spec = transformer_spec.TransformerSpec.from_config(
        (config.encoder_layers, config.decoder_layers),
        config.num_heads,
        pre_norm=True,
        activation=common_spec.Activation.RELU,
    )
    spec.config.layer_norm_epsilon = config.layer_norm_eps
    spec.config.decoder_start_token = "<s>"

    embeddings = _array(model.embedding.weight)
    # Position encodings stay unset: CTranslate2 then generates the sinusoidal table that
    # `model.sinusoidal_positions` reproduces, for any length.
    spec.encoder.embeddings[0].weight = embeddings
    spec.encoder.scale_embeddings = True
    _set_layer_norm(spec.encoder.layer_norm, model.encoder_norm)
    for layer_spec, layer in zip(spec.encoder.layer, model.encoder_layers, strict=True):
        _set_encoder_layer(layer_spec, layer)

    spec.decoder.embeddings.weight = embeddings
    spec.decoder.scale_embeddings = True
    _set_layer_norm(spec.decoder.layer_norm, model.decoder_norm)
    for layer_spec, layer in zip(spec.decoder.layer, model.decoder_layers, strict=True):
        _set_decoder_layer(layer_spec, layer)
    spec.decoder.projection.weight = embeddings

    spec.register_source_vocabulary(vocabulary)
    spec.register_target_vocabulary(vocabulary)
    return spec


def export_ctranslate2(
    model: Seq2SeqTransformer,
    vocabulary: list[str],
    output_dir: Path,
    quantization: str | None = "int8",
) -> Path:
    """Write the CTranslate2 model directory (model.bin, config.json, shared_vocabulary.*)."""
    spec = build_spec(model, vocabulary)
    spec.validate()
    spec.optimize(quantization=quantization)
    if output_dir.exists():
        shutil.rmtree(output_dir)
    output_dir.mkdir(parents=True)
    spec.save(str(output_dir))
    return output_dir
