"""Decoder language models as text encoders (Qwen3, Gemma 2 …), run as ComfyUI runs its ``llama.py`` models
through ``SDClipModel``.

- The architecture is read from the tensors of a Llama-style decoder (``model.layers.N.self_attn.q_proj`` …,
  after whatever prefix the file puts before them: none in ComfyUI's repackaged files,
  ``text_encoders.<slot>.transformer.`` in all-in-one checkpoints): width, depth, MLP width, vocabulary,
  heads and key/value heads from the projections' rows and the head width. The module is transformers'
  decoder alone (``Qwen3Model`` …), whose keys are the file's without ``model.`` (:func:`decoder_state`).
- Prompts have no chunks (ComfyUI's ``max_length`` of 99,999,999): one row of tokens, padded to one token
  at least. Where the model takes an attention mask, it is ComfyUI's rule: with no end token, a position is
  attended up to (not including) the first padding token.
- The states are read from one decoder layer's output, without the final norm (ComfyUI's ``layer="hidden"``,
  ``layer_norm_hidden_state=False``); CLIPSetLastLayer picks another layer, and one deeper than the model
  reads the normed last output, as ComfyUI does.
- Emphasis, where the model's tokenizer keeps it, is measured against an empty prompt of the same length
  (start token, then padding), batched with the prompt as ComfyUI does.

The conditioning carries the prompt's ``attention_mask`` [1, T] as ComfyUI's does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from ..state_dict import TensorIndex, block_count
from .prompt import PLACEHOLDER, Chunk, Reading, TokenRules, chunks_for, depth

MARKER = "model.layers.0.self_attn.q_proj.weight"
ROOT = "model."  # the decoder's keys in the file (beside an LM head or a vision tower)
READING = Reading(-2, False)  # ComfyUI's layer_idx=-2 without the final norm: Z-Image's and Lumina 2's


def decoder_shapes(index: TensorIndex, prefix: str, head_dim: int | None = None) -> dict[str, Any] | None:
    """The config fields every Llama-style decoder shares, read from the keys under ``prefix`` (None: no
    decoder there). The head width comes from the q-norm where the model has one (Qwen3), else
    ``head_dim`` (the kind's own, e.g. Gemma 2's 256)."""
    q = index.shape(prefix + MARKER)
    if q is None:
        return None

    def shape(key: str) -> tuple[int, ...]:
        found = index.shape(prefix + key)
        if found is None:
            raise KeyError(key)
        return found

    norm = index.shape(prefix + "model.layers.0.self_attn.q_norm.weight")
    vocab, width = shape("model.embed_tokens.weight")
    heads_width = norm[0] if norm is not None else head_dim
    k_rows = shape("model.layers.0.self_attn.k_proj.weight")[0]
    if not heads_width or q[0] % heads_width or k_rows % heads_width:
        raise ValueError(f"q/k projections of {q[0]} and {k_rows} rows do not divide into heads {heads_width} wide")
    keys: Mapping[str, Any] = {k[len(prefix):]: None for k in index if k.startswith(prefix)}
    return {"vocab_size": vocab, "hidden_size": width,
            "intermediate_size": shape("model.layers.0.mlp.gate_proj.weight")[0],
            "num_hidden_layers": block_count(keys, "model.layers."), "num_attention_heads": q[0] // heads_width,
            "num_key_value_heads": k_rows // heads_width, "head_dim": heads_width}


def decoder_state(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The decoder's own keys (``model.`` taken off; an LM head and anything else left out)."""
    return {k[len(ROOT):]: v for k, v in tensors.items() if k.startswith(ROOT)}


def attention_mask(ids: torch.Tensor, pad: int, end: int | None = None) -> torch.Tensor:
    """ComfyUI's mask for a batch of token rows: padding in front of a row (left-padded prompts) is masked;
    from the first other token, 1 up to the first end token (kept) or, with no end token, up to the next
    padding token (masked), 0 after it."""
    stop = pad if end is None else end
    mask = torch.zeros_like(ids)
    for row in range(ids.shape[0]):
        tokens = ids[row]
        start = 0
        while start < len(tokens) and int(tokens[start]) == pad:
            start += 1
        hits = (tokens[start:] == stop).nonzero()
        length = len(tokens) if len(hits) == 0 else start + int(hits[0]) + (1 if end is not None else 0)
        mask[row, start:length] = 1
    return mask


Layers = tuple[int, ...]  # several layers read side by side (ComfyUI's ``layer=[…]``: Flux.2's encoders)


def run(encoder: Any, reading: Reading | Layers, ids: torch.Tensor, mask: torch.Tensor | None,
        vectors: dict[tuple[int, int], torch.Tensor] | None = None) -> torch.Tensor:
    """States [N, T, D] (float32, CPU) of the layer ``reading`` names: a decoder layer's own output (hooked,
    so no final norm), or the normed last output for ``Reading(-1, True)``. A tuple of layer numbers reads
    each one's input as ComfyUI's intermediate list does (``i``: what enters layer ``i``, the output of layer
    ``i − 1`` without the final norm; the model's depth: its normed output) and puts them side by side per
    token: [N, T, len(layers)·D].

    ``vectors`` maps (row, position) to an embedding that replaces the token embedding there."""
    device = next(encoder.parameters()).device
    hooks = []
    if vectors:
        def replace_rows(module: Any, inputs: Any, output: torch.Tensor) -> torch.Tensor:
            output = output.clone()
            for (row, position), vector in vectors.items():
                output[row, position] = vector.to(output.device, output.dtype)
            return output

        hooks.append(encoder.get_input_embeddings().register_forward_hook(replace_rows))
    captured: dict[int, torch.Tensor] = {}

    def keep(index: int) -> Any:
        def hook(module: Any, inputs: Any, output: Any) -> None:
            captured[index] = output[0] if isinstance(output, tuple) else output

        return hook

    if isinstance(reading, tuple):
        count = len(encoder.layers)
        if max(reading) > count:
            raise ValueError(f"the text encoder has {count} layers; this model reads layers {list(reading)}")
        final = getattr(encoder, "inkgraph_final_norm", True)  # False: ComfyUI leaves a pruned model's norm out
        for index in reading:
            if index == 0:
                hooks.append(encoder.get_input_embeddings().register_forward_hook(keep(index)))
            elif index < count or not final:
                hooks.append(encoder.layers[index - 1].register_forward_hook(keep(index)))
        last = False
    else:
        last = reading.layer == -1 and reading.layer_norm_hidden
        if not last:
            hooks.append(encoder.layers[reading.layer].register_forward_hook(keep(0)))
    try:
        out = encoder(input_ids=ids.to(device), attention_mask=mask.to(device) if mask is not None else None,
                      use_cache=False)
    finally:
        for hook in hooks:
            hook.remove()
    if isinstance(reading, tuple):
        hidden = torch.cat([captured.get(index, out.last_hidden_state).float() for index in reading], dim=-1)
    else:
        hidden = out.last_hidden_state if last else captured[0]
    return hidden.float().cpu()


def encode(encoder: Any, reading: Reading | Layers, chunks: list[Chunk], rules: TokenRules, masked: bool = True
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """(states [1, T, D], attention mask [1, T]) of the prompt's chunks, emphasis applied, as ComfyUI's
    ``encode_token_weights``: with weights (or no chunks) the empty prompt is encoded in the same batch.
    ``masked``: the model is given the attention mask (ComfyUI's ``enable_attention_masks``)."""
    rows = [[PLACEHOLDER if isinstance(t, torch.Tensor) else int(t) for t, _ in chunk] for chunk in chunks]
    vectors = {(row, position): token for row, chunk in enumerate(chunks)
               for position, (token, _) in enumerate(chunk) if isinstance(token, torch.Tensor)}
    weighted = any(w != 1.0 for chunk in chunks for _, w in chunk)
    longest = max((len(row) for row in rows), default=0)
    if any(len(row) != longest for row in rows):
        raise ValueError("language-model prompts are one row of tokens; chunks of different lengths were given")
    if weighted or not rows:
        rows.append(rules.empty(longest))
    ids = torch.tensor(rows, dtype=torch.long)
    mask = attention_mask(ids, rules.pad if rules.mask_pad is None else rules.mask_pad, rules.end)
    hidden = run(encoder, reading, ids, mask if masked else None, vectors)
    parts = []
    for index, chunk in enumerate(chunks):
        z = hidden[index].clone()
        if weighted:
            empty = hidden[-1]
            weights = torch.tensor([w for _, w in chunk], dtype=z.dtype)[:, None]
            z = (z - empty) * weights + empty
        parts.append(z)
    if not parts:
        return hidden[-1:], mask[-1:]
    return torch.cat(parts, dim=0)[None], mask[:len(chunks)].flatten()[None]


def encode_text(encoder: Any, text: str, rules: TokenRules, reading: Reading | Layers, layer: int | None,
                context: Any, masked: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """One language model's (states, attention mask) for ``text`` (a template already applied), with
    CLIPSetLastLayer's ``layer`` (ignored where several layers are read, as ComfyUI) and ``embedding:NAME``
    vectors as wide as the model."""
    chunks = chunks_for(encoder, text, rules, context)
    if isinstance(reading, Reading):
        reading = reading.at(layer, depth(encoder))
    return encode(encoder, reading, chunks, rules, masked)
