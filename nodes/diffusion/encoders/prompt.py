"""Prompt → token chunks → embeddings, as ComfyUI's SDTokenizer and SDClipModel do it, for any encoder.

- :class:`TokenRules` is one tokenizer's settings (start/end/pad tokens, chunk length, padding, minimum
  length, the embedding key of ``embedding:NAME`` files). CLIP: chunks of 77 = start + 75 tokens + end,
  padded; T5: one chunk of any length ending in ``</s>``, padded to a minimum length (SD3 77, Flux 256,
  Chroma 1).
- :func:`tokenize` splits the prompt into weighted fragments (``prompt_weights``), tokenizes each
  (textual-inversion vectors for ``embedding:NAME``), and packs them into chunks, keeping fragments
  shorter than 8 tokens whole.
- :class:`Reading` says which layer of the encoder is read and whether the pooled output is projected.
- :func:`encode` runs the chunks; weighted tokens are pushed away from (or towards) the empty prompt's
  embedding: z = (z − z_empty)·weight + z_empty; chunks are concatenated along the token axis; the pooled
  output is the first chunk's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import torch

from ..embeddings import PREFIX, Lookup, reference, split_words
from ..prompt_weights import literal, parse_weights

Token = int | torch.Tensor  # a vocabulary id, or one textual-inversion vector
Chunk = list[tuple[Token, float]]
PLACEHOLDER = 0  # the id of a vector's position: below the end token, so CLIP's pooled token is still found
MAX_WORD_LENGTH = 8  # a fragment this long may be split across chunks


@dataclass(frozen=True)
class TokenRules:
    """One tokenizer's settings (ComfyUI's SDTokenizer arguments)."""

    tokenizer: Callable[[], Any]  # the shipped tokenizer (loaded once)
    start: int | None = 49406
    end: int | None = 49407
    pad: int = 49407
    max_length: int = 77  # chunk length including start and end; T5: no chunks
    pad_to_max: bool = True
    min_length: int | None = None  # the last chunk is padded to this length
    embedding_key: str = "clip_l"  # which vectors of a textual-inversion file belong to this encoder
    empty_has_end: bool = True  # the empty prompt keeps its end token (PixArt/Chroma: padding only)
    min_padding: int | None = None  # padding tokens always added after the last chunk's end token
    weights: bool = True  # parse emphasis; False: the prompt is literal text (ComfyUI's disable_weights)
    pad_left: bool = False  # padding goes in front of the tokens (Mistral 3's)
    mask_pad: int | None = None  # the model's own padding id for the attention mask, where it differs from ``pad``

    def configured(self, options: dict[str, Any]) -> TokenRules:
        """These rules with a CLIP's tokenizer options applied (T5TokenizerOptions sets
        ``t5xxl_min_padding`` and ``t5xxl_min_length``, keyed by the embedding key as in ComfyUI)."""
        padding = options.get(f"{self.embedding_key}_min_padding", self.min_padding)
        length = options.get(f"{self.embedding_key}_min_length", self.min_length)
        if padding == self.min_padding and length == self.min_length:
            return self
        return replace(self, min_padding=padding, min_length=length)

    def words(self, text: str) -> list[int]:
        return list(self.tokenizer()(text, add_special_tokens=False)["input_ids"])

    def empty(self, length: int) -> list[int]:
        """The empty prompt weights are measured against (ComfyUI's gen_empty_tokens)."""
        head = [t for t in (self.start, self.end if self.empty_has_end else None) if t is not None]
        return (head + [self.pad] * length)[:max(length, len(head))]


def weighted_groups(text: str, rules: TokenRules, lookup: Lookup | None = None,
                    warnings: list[str] | None = None) -> list[list[tuple[Token, float]]]:
    """Weighted token groups (a fragment's tokens, or an embedding's vectors) in prompt order."""
    notes = warnings if warnings is not None else []
    groups: list[list[tuple[Token, float]]] = []

    def words(fragment: str, weight: float) -> None:
        ids = rules.words(fragment)
        if ids:
            groups.append([(t, weight) for t in ids])

    fragments = parse_weights(text) if rules.weights else [(literal(text), 1.0)] if text else []
    for fragment, weight in fragments:
        for piece in split_words(fragment) if lookup is not None else [fragment]:
            if lookup is None or not piece.startswith(PREFIX):
                words(piece, weight)
                continue
            vectors, name, leftover = reference(piece, lookup)
            if vectors is None:
                notes.append(f"embedding:{name} does not exist, ignoring")
            elif len(vectors):
                groups.append([(vector, weight) for vector in vectors])
            if leftover:
                words(leftover, weight)
    return groups


def pack(groups: list[list[tuple[Token, float]]], rules: TokenRules) -> list[Chunk]:
    """Token groups packed into chunks (ComfyUI's tokenize_with_weights)."""
    room = rules.max_length - (1 if rules.end is not None else 0)
    opening: Chunk = [(rules.start, 1.0)] if rules.start is not None else []
    chunks: list[Chunk] = []
    chunk: Chunk = list(opening)

    def close(chunk: Chunk) -> Chunk:
        if rules.end is not None:
            chunk = chunk + [(rules.end, 1.0)]
        if rules.pad_to_max:
            chunk = chunk + [(rules.pad, 1.0)] * (rules.max_length - len(chunk))
        return chunk

    for group in groups:
        large = len(group) >= MAX_WORD_LENGTH
        while group:
            if len(chunk) + len(group) > room:
                if large:  # split a long fragment across chunks
                    take = room - len(chunk)
                    chunk.extend(group[:take])
                    group = group[take:]
                chunks.append(close(chunk))
                chunk = list(opening)
            else:
                chunk.extend(group)
                group = []
    def padded(tokens: Chunk, count: int) -> Chunk:
        padding: Chunk = [(rules.pad, 1.0)] * count
        return padding + tokens if rules.pad_left else tokens + padding

    last = chunk + [(rules.end, 1.0)] if rules.end is not None else chunk
    if rules.min_padding:
        last = padded(last, rules.min_padding)
    if rules.pad_to_max and len(last) < rules.max_length:
        last = padded(last, rules.max_length - len(last))
    if rules.min_length is not None and len(last) < rules.min_length:
        last = padded(last, rules.min_length - len(last))
    chunks.append(last)
    return chunks


def tokenize(text: str, rules: TokenRules, lookup: Lookup | None = None,
             warnings: list[str] | None = None) -> list[Chunk]:
    """Weighted token chunks of ``text``; ``embedding:NAME`` pieces become vectors when ``lookup`` is given."""
    return pack(weighted_groups(text, rules, lookup, warnings), rules)


@dataclass(frozen=True)
class Reading:
    """Which output of an encoder is read (ComfyUI's SDClipModel options)."""

    layer: int = -1  # -1: the last layer (with the final norm); -2: the one before …
    layer_norm_hidden: bool = True  # apply the final norm to an earlier layer's output
    pooled: str = ""  # "" none, "projected" (CLIP's text_embeds) or "unprojected" (the end token's state)

    def at(self, layer: int | None, depth: int) -> Reading:
        """This reading with CLIPSetLastLayer's value applied (ComfyUI ignores layers deeper than the model)."""
        if layer is None:
            return self
        if abs(layer) > depth:
            return replace(self, layer=-1, layer_norm_hidden=True)
        return replace(self, layer=layer)


def depth(encoder: Any) -> int:
    """Layers in a CLIP or T5 encoder stack."""
    config = encoder.config
    return int(getattr(config, "num_hidden_layers", None) or getattr(config, "num_layers", 0))


def final_norm(encoder: Any) -> Any:
    for owner in (getattr(encoder, "text_model", None), encoder, getattr(encoder, "encoder", None)):
        norm = getattr(owner, "final_layer_norm", None)
        if norm is not None:
            return norm
    raise AttributeError(f"{type(encoder).__name__} has no final layer norm")


def run(encoder: Any, reading: Reading, ids: torch.Tensor,
        vectors: dict[tuple[int, int], torch.Tensor] | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Hidden states [N, T, D] of the chosen layer (float32, CPU) and the pooled output if asked.

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
    last = reading.layer == -1 and reading.layer_norm_hidden
    try:
        out = encoder(input_ids=ids.to(device), output_hidden_states=not last)
    finally:
        if hook is not None:
            hook.remove()
    if last:
        hidden = out.last_hidden_state
    else:
        hidden = out.hidden_states[reading.layer]
        if reading.layer_norm_hidden:
            hidden = final_norm(encoder)(hidden)
    pooled = None
    if reading.pooled == "projected":
        pooled = out.text_embeds
    elif reading.pooled == "unprojected":
        pooled = out.pooler_output
    return hidden.float().cpu(), (pooled.float().cpu() if pooled is not None else None)


def encode(encoder: Any, reading: Reading, chunks: list[Chunk], rules: TokenRules
           ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """[1, Σ chunk lengths, D] embeddings with emphasis applied, and the first chunk's pooled output.

    No chunks at all (CLIPTextEncodeSD3's "none" padding of an empty text) gives the empty prompt's
    encoding at its shortest, as ComfyUI does."""
    if not chunks:
        hidden, pooled = run(encoder, reading, torch.tensor([rules.empty(0)], dtype=torch.long))
        return hidden, pooled
    weighted = any(w != 1.0 for chunk in chunks for _, w in chunk)
    vectors = {(row, position): token for row, chunk in enumerate(chunks)
               for position, (token, _) in enumerate(chunk) if isinstance(token, torch.Tensor)}
    batch = [[PLACEHOLDER if isinstance(t, torch.Tensor) else t for t, _ in chunk] for chunk in chunks]
    longest = max(len(row) for row in batch)
    if any(len(row) != longest for row in batch):  # T5 chunks may differ in length: encode them one by one
        each = [encode(encoder, reading, [chunk], rules) for chunk in chunks]
        return torch.cat([z for z, _ in each], dim=1), each[0][1]
    if weighted:
        batch.append(rules.empty(longest))
    hidden, pooled = run(encoder, reading, torch.tensor(batch, dtype=torch.long), vectors)
    parts = []
    for index, chunk in enumerate(chunks):
        z = hidden[index].clone()
        if weighted:
            empty = hidden[-1]
            weights = torch.tensor([w for _, w in chunk], dtype=z.dtype)[:, None]
            z = (z - empty) * weights + empty
        parts.append(z)
    return torch.cat(parts, dim=0)[None], (pooled[0:1] if pooled is not None else None)


def chunks_for(encoder: Any, text: str, rules: TokenRules, context: Any) -> list[Chunk]:
    """The chunks of ``text`` for one encoder; ``embedding:NAME`` is looked up in ``context.folders``
    (an ``EncodeRequest``) for vectors as wide as the encoder, warnings go to ``context.warnings``."""
    from ..embeddings import lookup_for

    if context is not None:
        rules = rules.configured(context.options)
    lookup = None
    if context is not None and context.folders is not None:
        width = int(encoder.get_input_embeddings().weight.shape[-1])
        lookup = lookup_for(context.folders, rules.embedding_key, width, context.warnings)
    return tokenize(text, rules, lookup, context.warnings if context is not None else None)


def encode_text(encoder: Any, text: str, rules: TokenRules, reading: Reading, layer: int | None,
                context: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
    """One encoder's (embeddings, pooled) for ``text`` with CLIPSetLastLayer's ``layer`` applied."""
    if context is not None:
        rules = rules.configured(context.options)
    chunks = chunks_for(encoder, text, rules, context)
    return encode(encoder, reading.at(layer, depth(encoder)), chunks, rules)
