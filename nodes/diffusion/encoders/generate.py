"""Text generation with the language model behind a CLIP (ComfyUI's ``clip.generate`` for TextGenerate).

ComfyUI's language-model text encoders (``comfy/text_encoders/llama.py``: ``BaseGenerate``) generate one token
at a time over a key/value cache, and so does :func:`generate` over the encoder module Inkgraph built for the
file (transformers' ``Qwen3Model``, ``Gemma2Model``, ``Qwen2_5_VLModel`` …):

- the prompt is prefilled once (Qwen2.5-VL: with the images' patches and 3-D rotary positions), then each step
  feeds the chosen token back; the final norm's output of the last position goes through the LM head;
- the LM head is the file's ``lm_head.weight`` where it has one (read from the file on the first generation,
  so encoding alone never pays for it), else the tied token embeddings — ComfyUI's configs tie Qwen3-4B,
  Gemma 2 and Qwen2.5-VL (the last with a "todo" in its source, even when the file has an ``lm_head``);
- greedy decoding (``sampling_mode`` off, or temperature 0) takes the arg-max; sampling follows ComfyUI's
  ``processed_probs`` in its order: repetition and presence penalties on the tokens generated so far,
  temperature, then the top-k slice, min-p and top-p inside it, and one ``torch.multinomial`` draw from a
  ``torch.Generator`` seeded with the node's seed;
- generation stops after a stop token (kept in the ids; decoding skips special tokens) or ``max_length``
  tokens.

MTP (speculative decoding with a multi-token-prediction head) has no effect here: no supported file has one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sampling:
    """TextGenerate's sampling settings (``sampling_mode`` "off": ``do_sample`` False, greedy)."""

    do_sample: bool = False
    temperature: float = 1.0
    top_k: int = 50
    top_p: float = 1.0
    min_p: float = 0.0
    repetition_penalty: float = 1.0
    presence_penalty: float = 0.0
    seed: int | None = None


@dataclass
class GenerationPrompt:
    """What a CLIP type makes of a prompt for generation: the encoder slot that generates, the token ids
    (a chat template applied as that type's tokenizer applies it), the images its ``<|image_pad|>`` tokens
    stand for, the ids that end generation, and how ids become text."""

    slot: str
    ids: list[int]
    stop_tokens: tuple[int, ...]
    decode: Callable[[list[int]], str]
    images: list[torch.Tensor] = field(default_factory=list)
    default_seed: int | None = None  # the seed used when sampling is given none (Qwen2.5-VL: 42)
    # the first call's keyword arguments (model, ids, images) → kwargs; default: the ids as ``input_ids``
    prefill: Callable[[Any, list[int], list[torch.Tensor]], dict[str, Any]] | None = None


def penalized(logits: torch.Tensor, seen: torch.Tensor, repetition: float, presence: float) -> torch.Tensor:
    """ComfyUI's penalties on the ``seen`` tokens (a [vocab] bool mask): negative logits × repetition,
    positive ones ÷ repetition, then − presence."""
    out = logits
    if repetition != 1.0:
        out = torch.where(out < 0, out * repetition, out / repetition)
    if presence:
        out = out - presence
    return torch.where(seen[None], out, logits)


def processed_probs(logits: torch.Tensor, sampling: Sampling, seen: torch.Tensor | None
                    ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(probabilities, the vocabulary ids they are over — None for the whole vocabulary) after ComfyUI's
    filters, for logits [1, vocab]."""
    if seen is not None:
        logits = penalized(logits, seen, sampling.repetition_penalty, sampling.presence_penalty)
    if sampling.temperature != 1.0:
        logits = logits / sampling.temperature
    indices = None
    if sampling.top_k > 0:
        logits, indices = torch.topk(logits, min(sampling.top_k, logits.shape[-1]))
    lowest = torch.finfo(logits.dtype).min
    if sampling.min_p > 0.0:
        probs = torch.softmax(logits, dim=-1)
        logits = logits.masked_fill(probs < sampling.min_p * probs.max(dim=-1, keepdim=True).values, lowest)
    if sampling.top_p < 1.0:
        ordered, order = torch.sort(logits, descending=True)
        cumulative = torch.cumsum(torch.softmax(ordered, dim=-1), dim=-1)
        drop_sorted = cumulative > sampling.top_p
        drop_sorted[..., 0] = False
        drop = torch.zeros_like(logits, dtype=torch.bool).scatter(1, order, drop_sorted)
        logits = logits.masked_fill(drop, lowest)
    return torch.softmax(logits, dim=-1), indices


def sample_token(logits: torch.Tensor, sampling: Sampling, seen: torch.Tensor | None,
                 generator: torch.Generator | None) -> int:
    """The next token for logits [1, vocab]: the arg-max when not sampling (or at temperature 0)."""
    if not sampling.do_sample or sampling.temperature == 0.0:
        return int(torch.argmax(logits, dim=-1)[0])
    probs, indices = processed_probs(logits, sampling, seen)
    choice = torch.multinomial(probs, num_samples=1, generator=generator)
    if indices is not None:
        choice = indices.gather(1, choice)
    return int(choice[0, 0])


def lm_head_weight(encoder: Any) -> torch.Tensor:
    """The LM head's weight [vocab, width]: the file's ``lm_head.weight`` (read once and kept with the module,
    so it is freed with it) or the tied token embeddings."""
    cached = encoder.__dict__.get("_inkgraph_lm_head")
    embeddings = encoder.get_input_embeddings().weight
    if cached is None:
        cached = _file_lm_head(encoder, embeddings.dtype)
        encoder.__dict__["_inkgraph_lm_head"] = cached if cached is not None else False
    if cached is False or cached is None:
        return embeddings  # type: ignore[no-any-return]
    if cached.device != embeddings.device:
        cached = cached.to(embeddings.device)
        encoder.__dict__["_inkgraph_lm_head"] = cached
    return cached  # type: ignore[no-any-return]


def _file_lm_head(encoder: Any, dtype: torch.dtype) -> torch.Tensor | None:
    """``lm_head.weight`` beside the encoder's keys in its file (``encoder.inkgraph_file``: path, prefix)."""
    source = getattr(encoder, "inkgraph_file", None)
    if source is None:
        return None
    from ..state_dict import compute_cast, index_file, read_state_dict

    path, prefix = source
    key = prefix + "lm_head.weight"
    if key not in index_file(path):
        return None
    tensors, _ = read_state_dict(path, keys=lambda k: k == key, cast=compute_cast(dtype))
    weight = tensors[key]
    if weight.dtype != dtype:  # an fp8 head: compute in the embeddings' dtype
        weight = weight.to(dtype)
    log.info("%s: using the file's lm_head for text generation", path.name)
    return weight


def logits_of(encoder: Any, hidden: torch.Tensor) -> torch.Tensor:
    """Float32 logits [1, vocab] of the last position's final hidden state [1, D]."""
    weight = lm_head_weight(encoder)
    return torch.nn.functional.linear(hidden.to(weight.dtype), weight).float()


def generate(encoder: Any, prompt: GenerationPrompt, max_length: int, sampling: Sampling,
             progress: Callable[[int, int], None] | None = None) -> list[int]:
    """Generated token ids (a stop token included when one ended it), as ComfyUI's ``BaseGenerate.generate``;
    ``progress(step, max_length)`` is called after each token (and may raise to interrupt)."""
    from transformers import DynamicCache

    device = encoder.get_input_embeddings().weight.device
    seed = sampling.seed if sampling.seed is not None else prompt.default_seed
    generator = None
    if sampling.do_sample:
        generator = torch.Generator(device=device)
        generator.manual_seed(int(seed) if seed is not None else 42)
    penalize = sampling.repetition_penalty != 1.0 or bool(sampling.presence_penalty)
    seen: torch.Tensor | None = None
    stop = set(prompt.stop_tokens)
    cache = DynamicCache(config=getattr(encoder, "config", None))
    inputs = prompt.prefill(encoder, prompt.ids, prompt.images) if prompt.prefill is not None else {
        "input_ids": torch.tensor([prompt.ids], dtype=torch.long, device=device)}
    out_ids: list[int] = []
    with torch.inference_mode():
        for step in range(max_length):
            out = encoder(**inputs, cache=cache, use_cache=True)
            cache = out.cache if out.cache is not None else cache
            logits = logits_of(encoder, out.last_hidden_state[:, -1])
            if seen is None and sampling.do_sample and penalize:
                seen = torch.zeros(logits.shape[-1], dtype=torch.bool, device=logits.device)
            token = sample_token(logits, sampling, seen, generator)
            if seen is not None:
                seen[token] = True
            out_ids.append(token)
            if progress is not None:
                progress(step + 1, max_length)
            if token in stop:
                break
            inputs = {"input_ids": torch.tensor([[token]], dtype=torch.long, device=device)}
    return out_ids
