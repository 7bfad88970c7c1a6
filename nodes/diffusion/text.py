"""Stable Diffusion's prompt encoding (SD1, SD2, SDXL and its refiner), as ComfyUI encodes it.

The machinery — weighted fragments, 77-token chunks, textual-inversion vectors, emphasis against the
empty prompt — is the one every encoder uses (``encoders/prompt.py``); this module holds SD's readings:
SD1 reads CLIP-L's last layer; SD2's OpenCLIP-H is loaded without its last layer (diffusers drops it),
so ComfyUI's default "penultimate" is our last; SDXL reads the penultimate layer of CLIP-L and CLIP-G
without the final norm and pools G (projected); the refiner has CLIP-G alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from inkgraph.engine.core.paths import Folders

from .embeddings import Lookup, lookup_for
from .encoders import prompt
from .encoders.clip import clip_tokenizer

START, END = 49406, 49407
MAX_LENGTH = 77
MAX_WORD_LENGTH = prompt.MAX_WORD_LENGTH
Token = prompt.Token
Chunk = prompt.Chunk
PLACEHOLDER = prompt.PLACEHOLDER


def tokenizer() -> Any:
    return clip_tokenizer()


def clip_rules(pad_id: int = END, embedding_key: str = "clip_l") -> prompt.TokenRules:
    """CLIP's tokenizer settings: start, end, chunks of 77 padded with ``pad_id``."""
    return prompt.TokenRules(clip_tokenizer, START, END, pad_id, MAX_LENGTH, True, None, embedding_key)


def tokenize(text: str, pad_id: int = END, lookup: Lookup | None = None,
             warnings: list[str] | None = None) -> list[Chunk]:
    """Weighted token chunks of exactly 77 (start, ≤75 tokens, end, padding).

    With ``lookup``, ``embedding:NAME`` pieces become that embedding's vectors (one position each).
    """
    return prompt.tokenize(text, clip_rules(pad_id), lookup, warnings)


def empty_chunk(pad_id: int = END) -> Chunk:
    return [(token, 1.0) for token in clip_rules(pad_id).empty(MAX_LENGTH)]


@dataclass(frozen=True)
class EncoderSpec:
    """How one text encoder's output is read: which layer, layer norm or not, padding."""

    layer: int = -1  # -1: the last layer; -2: the one before (ComfyUI's CLIPSetLastLayer counts the same way)
    layer_norm_hidden: bool = True  # apply the final layer norm to an earlier layer's output
    pad_id: int = END
    pooled: bool = False  # this encoder provides the pooled (projected) output
    embedding_key: str = "clip_l"  # which vectors of a textual-inversion file belong to this encoder

    def rules(self) -> prompt.TokenRules:
        return clip_rules(self.pad_id, self.embedding_key)

    def reading(self) -> prompt.Reading:
        return prompt.Reading(self.layer, self.layer_norm_hidden, "projected" if self.pooled else "")


def run_encoder(encoder: Any, spec: EncoderSpec, ids: torch.Tensor,
                vectors: dict[tuple[int, int], torch.Tensor] | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Hidden states [N, 77, D] of the chosen layer, and the projected pooled output if asked."""
    return prompt.run(encoder, spec.reading(), ids, vectors)


def encode(encoder: Any, spec: EncoderSpec, chunks: list[Chunk]) -> tuple[torch.Tensor, torch.Tensor | None]:
    """[1, 77·chunks, D] embeddings with emphasis applied, and the first chunk's pooled output."""
    return prompt.encode(encoder, spec.reading(), chunks, spec.rules())


def encoder_specs(kind: str, layer: int | None) -> list[EncoderSpec]:
    """ComfyUI's readings per family; ``layer`` is CLIPSetLastLayer's value (None: the family default).

    SD1 reads the last layer (an earlier one gets the final layer norm); SD2's encoder is loaded without
    its last layer (diffusers drops it), so ComfyUI's default "penultimate" is our last and layer L is
    our L + 1; SDXL reads the penultimate layer of both encoders without the final norm, and pools G; the
    SDXL refiner reads CLIP-G alone the same way.
    """
    if kind == "sdxl":
        index = -2 if layer is None else layer
        return [EncoderSpec(index, False, END, embedding_key="clip_l"),
                EncoderSpec(index, False, 0, pooled=True, embedding_key="clip_g")]
    if kind == "sdxl_refiner":
        return [EncoderSpec(-2 if layer is None else layer, False, 0, pooled=True, embedding_key="clip_g")]
    if kind == "sd2":
        index = -1 if layer is None or layer >= -2 else layer + 1
        return [EncoderSpec(index, True, 0, embedding_key="clip_h")]
    return [EncoderSpec(-1 if layer is None else layer, True, END)]


def encode_prompt(encoders: list[Any], kind: str, layer: int | None, text: str,
                  folders: Folders | None = None, warnings: list[str] | None = None) -> list[list[Any]]:
    """CONDITIONING for ``text``: [[embeddings, {"pooled_output": ...}]].

    With ``folders``, ``embedding:NAME`` references are resolved in its embeddings folders; what could not
    be used is described in ``warnings``.
    """
    return encode_texts(encoders, kind, layer, [text] * len(encoders), folders, warnings)


def encode_texts(encoders: list[Any], kind: str, layer: int | None, texts: list[str],
                 folders: Folders | None = None, warnings: list[str] | None = None,
                 pad_chunks: bool = False) -> list[list[Any]]:
    """CONDITIONING with one text per encoder (CLIPTextEncodeSDXL gives CLIP-L and CLIP-G their own).

    ``pad_chunks``: the encoder with fewer 77-token chunks gets empty-prompt chunks until both have as many
    (ComfyUI's CLIPTextEncodeSDXL); otherwise the longer output is cut to the shorter, as ComfyUI's SDXL
    text model does.
    """
    specs = encoder_specs(kind, layer)
    notes = warnings if warnings is not None else []
    chunk_lists = []
    for encoder, spec, text in zip(encoders, specs, texts, strict=True):
        width = int(encoder.get_input_embeddings().weight.shape[-1])
        lookup = lookup_for(folders, spec.embedding_key, width, notes) if folders is not None else None
        chunk_lists.append(tokenize(text, spec.pad_id, lookup, notes))
    if pad_chunks:
        longest = max(len(chunks) for chunks in chunk_lists)
        chunk_lists = [chunks + [empty_chunk(spec.pad_id)] * (longest - len(chunks))
                       for chunks, spec in zip(chunk_lists, specs, strict=True)]
    parts, pooled = [], None
    for encoder, spec, chunks in zip(encoders, specs, chunk_lists, strict=True):
        z, p = encode(encoder, spec, chunks)
        parts.append(z)
        pooled = p if spec.pooled else pooled
    if len(parts) > 1:
        cut = min(part.shape[1] for part in parts)
        embedding = torch.cat([part[:, :cut] for part in parts], dim=-1)
    else:
        embedding = parts[0]
    return [[embedding, {"pooled_output": pooled} if pooled is not None else {}]]
