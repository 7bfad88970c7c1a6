"""Prompt → CONDITIONING, as ComfyUI encodes it: emphasis weights, 77-token chunks, SDXL's two encoders.

A prompt is split into weighted fragments (``prompt_weights``), tokenized, and packed into chunks of 75
tokens between start and end tokens, keeping fragments shorter than 8 tokens whole. Each chunk is
encoded; weighted tokens are pushed away from (or towards) the empty prompt's embedding:
z = (z − z_empty) · weight + z_empty. Chunks are concatenated along the token axis; the pooled output
comes from the first chunk.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

from inkgraph.engine.core.paths import Folders

from .embeddings import PREFIX, Lookup, lookup_for, reference, split_words
from .prompt_weights import parse_weights

TOKENIZER_DIR = Path(__file__).resolve().parent / "configs" / "clip_tokenizer"
START, END = 49406, 49407
MAX_LENGTH = 77
MAX_WORD_LENGTH = 8


@lru_cache(maxsize=1)
def tokenizer() -> Any:
    from transformers import CLIPTokenizer

    return CLIPTokenizer.from_pretrained(str(TOKENIZER_DIR), local_files_only=True, model_max_length=10**9)


Token = int | torch.Tensor  # a vocabulary id, or one textual-inversion vector
Chunk = list[tuple[Token, float]]
PLACEHOLDER = 0  # the id given to a vector's position: below END, so the pooled token is still found


def _groups(text: str, lookup: Lookup | None, warnings: list[str]) -> list[list[tuple[Token, float]]]:
    """Weighted token groups (a word's tokens, or an embedding's vectors) in prompt order."""
    groups: list[list[tuple[Token, float]]] = []

    def words(fragment: str, weight: float) -> None:
        ids = tokenizer()(fragment, add_special_tokens=False)["input_ids"]
        if ids:
            groups.append([(t, weight) for t in ids])

    for fragment, weight in parse_weights(text):
        for piece in split_words(fragment) if lookup is not None else [fragment]:
            if lookup is None or not piece.startswith(PREFIX):
                words(piece, weight)
                continue
            vectors, name, leftover = reference(piece, lookup)
            if vectors is None:
                warnings.append(f"embedding:{name} does not exist, ignoring")
            elif len(vectors):
                groups.append([(vector, weight) for vector in vectors])
            if leftover:
                words(leftover, weight)
    return groups


def tokenize(text: str, pad_id: int = END, lookup: Lookup | None = None,
             warnings: list[str] | None = None) -> list[Chunk]:
    """Weighted token chunks of exactly 77 (start, ≤75 tokens, end, padding).

    With ``lookup``, ``embedding:NAME`` pieces become that embedding's vectors (one position each).
    """
    groups = _groups(text, lookup, warnings if warnings is not None else [])
    chunks: list[Chunk] = []
    chunk: Chunk = [(START, 1.0)]
    room = MAX_LENGTH - 1  # the end token always fits
    for group in groups:
        large = len(group) >= MAX_WORD_LENGTH
        while group:
            if len(chunk) + len(group) > room:
                if large:  # split a long fragment across chunks
                    take = room - len(chunk)
                    chunk.extend(group[:take])
                    group = group[take:]
                chunks.append(_close(chunk, pad_id))
                chunk = [(START, 1.0)]
            else:
                chunk.extend(group)
                group = []
    chunks.append(_close(chunk, pad_id))
    return chunks


def _close(chunk: Chunk, pad_id: int) -> Chunk:
    chunk = chunk + [(END, 1.0)]
    return chunk + [(pad_id, 1.0)] * (MAX_LENGTH - len(chunk))


def empty_chunk(pad_id: int = END) -> Chunk:
    return _close([(START, 1.0)], pad_id)


@dataclass(frozen=True)
class EncoderSpec:
    """How one text encoder's output is read: which layer, layer norm or not, padding."""

    layer: int = -1  # -1: the last layer; -2: the one before (ComfyUI's CLIPSetLastLayer counts the same way)
    layer_norm_hidden: bool = True  # apply the final layer norm to an earlier layer's output
    pad_id: int = END
    pooled: bool = False  # this encoder provides the pooled (projected) output
    embedding_key: str = "clip_l"  # which vectors of a textual-inversion file belong to this encoder


def run_encoder(encoder: Any, spec: EncoderSpec, ids: torch.Tensor,
                vectors: dict[tuple[int, int], torch.Tensor] | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Hidden states [N, 77, D] of the chosen layer, and the projected pooled output if asked.

    ``vectors`` maps (row, position) to an embedding vector that replaces the token embedding there.
    """
    device = next(encoder.parameters()).device
    hook = None
    if vectors:
        def replace_rows(module: Any, inputs: Any, output: torch.Tensor) -> torch.Tensor:
            output = output.clone()
            for (row, position), vector in vectors.items():
                output[row, position] = vector.to(output.device, output.dtype)
            return output

        hook = encoder.get_input_embeddings().register_forward_hook(replace_rows)
    try:
        out = encoder(input_ids=ids.to(device), output_hidden_states=True)
    finally:
        if hook is not None:
            hook.remove()
    if spec.layer == -1:
        hidden = out.last_hidden_state
    else:
        hidden = out.hidden_states[spec.layer]
        if spec.layer_norm_hidden:
            final_norm = getattr(encoder, "text_model", encoder).final_layer_norm
            hidden = final_norm(hidden)
    pooled = getattr(out, "text_embeds", None) if spec.pooled else None
    return hidden.float().cpu(), (pooled.float().cpu() if pooled is not None else None)


def encode(encoder: Any, spec: EncoderSpec, chunks: list[Chunk]) -> tuple[torch.Tensor, torch.Tensor | None]:
    """[1, 77·chunks, D] embeddings with emphasis applied, and the first chunk's pooled output."""
    weighted = any(w != 1.0 for chunk in chunks for _, w in chunk)
    vectors = {(row, position): token for row, chunk in enumerate(chunks)
               for position, (token, _) in enumerate(chunk) if isinstance(token, torch.Tensor)}
    batch = [[PLACEHOLDER if isinstance(t, torch.Tensor) else t for t, _ in chunk] for chunk in chunks]
    if weighted:
        batch.append([t for t, _ in empty_chunk(spec.pad_id)])
    hidden, pooled = run_encoder(encoder, spec, torch.tensor(batch, dtype=torch.long), vectors)
    parts = []
    for index, chunk in enumerate(chunks):
        z = hidden[index].clone()
        if weighted:
            empty = hidden[-1]
            weights = torch.tensor([w for _, w in chunk], dtype=z.dtype)[:, None]
            z = (z - empty) * weights + empty
        parts.append(z)
    return torch.cat(parts, dim=0)[None], (pooled[0:1] if pooled is not None else None)


def encoder_specs(kind: str, layer: int | None) -> list[EncoderSpec]:
    """ComfyUI's readings per family; ``layer`` is CLIPSetLastLayer's value (None: the family default).

    SD1 reads the last layer (an earlier one gets the final layer norm); SD2's encoder is loaded without
    its last layer (diffusers drops it), so ComfyUI's default "penultimate" is our last and layer L is
    our L + 1; SDXL reads the penultimate layer of both encoders without the final norm, and pools G.
    """
    if kind == "sdxl":
        index = -2 if layer is None else layer
        return [EncoderSpec(index, False, END, embedding_key="clip_l"),
                EncoderSpec(index, False, 0, pooled=True, embedding_key="clip_g")]
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
