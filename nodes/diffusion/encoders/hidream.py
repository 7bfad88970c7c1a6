"""CLIPLoader type ``hidream``: any of CLIP-L, bigG, T5-XXL and Llama 3.1 8B (QuadrupleCLIPLoader all four), as
ComfyUI's HiDreamTEModel (``comfy/text_encoders/hidream.py``).

- CLIP-L and bigG give only their projected pooled outputs (of the prompt's first chunk), side by side (768 +
  1280; zeros for a missing one). HiDream's files are Long-CLIP (248 positions): as ComfyUI's
  ``model_options_long_clip``, a chunk is as long as the file's position table.
- T5-XXL: the first 128 tokens of the prompt with ``</s>``, padded with ``<pad>`` to 128, run with the attention
  mask (1 through ``</s>``); the states of all 128 tokens are the context (zeros [1, 128, 4096] without T5).
- Llama 3.1: ``<|begin_of_text|>`` and the prompt, padded with ``<|eot_id|>`` to 128 tokens at least (masked
  from the first padding token); every layer's output is kept — what enters layers 1 … 31 and the normed last
  output — as ``conditioning_llama3`` [1, 32, T, 4096] (zeros [1, 32, 1, 4096] without Llama).

CLIPTextEncodeHiDream gives each encoder its own prompt (``clip_l``, ``clip_g``, ``t5xxl``, ``llama``).
CLIPSetLastLayer changes nothing that HiDream reads (pooled outputs, T5's last layer, all of Llama's).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch

from .base import EncodeRequest, PromptRecipe
from .prompt import PLACEHOLDER, Reading, TokenRules, chunks_for
from .prompt import encode_text as clip_encode
from .t5 import t5_rules

L_WIDTH, G_WIDTH, T5_WIDTH, LLAMA_WIDTH, LLAMA_LAYERS = 768, 1280, 4096, 4096, 32
T5_LENGTH, LLAMA_MIN_LENGTH = 128, 128
POOLED = Reading(-1, True, "projected")  # bigG, built with its projection
UNPROJECTED = Reading(-1, True, "unprojected")  # CLIP-L: its pooled state, then the file's projection
TEXT_KEYS = {"clip_l": "clip_l", "clip_g": "clip_g", "t5xxl": "t5xxl", "llama": "llama3_8b", "llama3_8b": "llama3_8b"}


def t5_hidream_rules() -> TokenRules:
    """ComfyUI's T5XXLTokenizer(min_length=128, max_length=128): chunks of 128 with ``</s>``, padded to 128."""
    rules: TokenRules = t5_rules(T5_LENGTH)
    return replace(rules, max_length=T5_LENGTH)


def llama_rules(tokenizer: Any) -> TokenRules:
    """ComfyUI's LLAMA3Tokenizer for HiDream: start token, no end token, no chunks, padded with ``<|eot_id|>``
    to 128 tokens; emphasis kept."""
    from .llama3 import special_ids

    start, pad = special_ids(tokenizer)
    return TokenRules(lambda: tokenizer, start, None, pad, 99999999, False, LLAMA_MIN_LENGTH, "llama")


def encode_t5(encoder: Any, text: str, context: EncodeRequest) -> torch.Tensor:
    """T5's states [1, 128, D] for the prompt's first chunk, run with ComfyUI's mask, emphasis applied."""
    from .llm import attention_mask

    rules = t5_hidream_rules()
    chunk = chunks_for(encoder, text, rules, context)[0]
    if any(isinstance(token, torch.Tensor) for token, _ in chunk):
        context.warnings.append("CLIPTextEncode: embeddings in a HiDream T5 prompt are read as padding")
    rows = [[PLACEHOLDER if isinstance(t, torch.Tensor) else int(t) for t, _ in chunk]]
    weighted = any(w != 1.0 for _, w in chunk)
    if weighted:
        rows.append(rules.empty(len(rows[0])))
    ids = torch.tensor(rows, dtype=torch.long)
    mask = attention_mask(ids, rules.pad, rules.end)
    device = next(encoder.parameters()).device
    hidden = encoder(input_ids=ids.to(device), attention_mask=mask.to(device)).last_hidden_state.float().cpu()
    z = hidden[0]
    if weighted:
        weights = torch.tensor([w for _, w in chunk], dtype=z.dtype)[:, None]
        z = (z - hidden[1]) * weights + hidden[1]
    return z[None]


def encode_llama(encoder: Any, text: str, layer: int | None, context: EncodeRequest) -> torch.Tensor:
    """Llama's layers [1, L, T, D]: what enters layers 1 … L−1 and the normed last output."""
    from .llm import encode_text

    depth = len(encoder.layers)
    states, _ = encode_text(encoder, text, llama_rules(encoder.inkgraph_tokenizer), tuple(range(1, depth + 1)),
                            layer, context)
    tokens = states.shape[1]
    return states.reshape(1, tokens, depth, -1).permute(0, 2, 1, 3).contiguous()


class HiDream(PromptRecipe):
    name = "hidream"
    slots = ("clip_l", "clip_g", "t5xxl", "llama3_8b")

    def check(self, slots: list[str], source: str = "") -> None:
        super().check(slots, source)
        if not slots:
            raise ValueError(f"{source + ': ' if source else ''}type 'hidream' needs CLIP-L, bigG, T5-XXL or Llama 3.1")

    def encode(self, encoders: dict[str, Any], text: str, layer: int | None, context: EncodeRequest
               ) -> list[list[Any]]:
        return self.encode_texts(encoders, {slot: text for slot in self.slots}, layer, context)

    def encode_texts(self, encoders: dict[str, Any], texts: dict[str, str], layer: int | None,
                     context: EncodeRequest) -> list[list[Any]]:
        from ..text import END, clip_rules

        text = {TEXT_KEYS[k]: v for k, v in texts.items() if k in TEXT_KEYS}
        pooled = []
        for slot, rules, width in (("clip_l", clip_rules(END, "clip_l"), L_WIDTH),
                                   ("clip_g", clip_rules(0, "clip_g"), G_WIDTH)):
            encoder = encoders.get(slot)
            if encoder is None:
                pooled.append(torch.zeros(1, width))
                continue
            projection = getattr(encoder, "inkgraph_text_projection", None)
            reading = UNPROJECTED if slot == "clip_l" else POOLED
            rules = replace(rules, max_length=int(encoder.config.max_position_embeddings))  # Long-CLIP: 248
            _, found = clip_encode(encoder, text.get(slot, ""), rules, reading, None, context)
            assert found is not None
            if slot == "clip_l" and projection is not None:  # the L file's own projection (ComfyUI's text_projection)
                found = found @ projection.float().cpu().T
            pooled.append(found)
        t5, llama = encoders.get("t5xxl"), encoders.get("llama3_8b")
        context_states = encode_t5(t5, text.get("t5xxl", ""), context) if t5 is not None \
            else torch.zeros(1, T5_LENGTH, T5_WIDTH)
        llama_states = encode_llama(llama, text.get("llama3_8b", ""), layer, context) if llama is not None \
            else torch.zeros(1, LLAMA_LAYERS, 1, LLAMA_WIDTH)
        return [[context_states, {"pooled_output": torch.cat(pooled, dim=-1), "conditioning_llama3": llama_states}]]
