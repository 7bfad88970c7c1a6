"""Flux.2 reference latents modulated at t = 0 (ComfyUI's "index_timestep_zero") and FluxKVCache's cache of
their keys and values, on diffusers' Flux2Transformer2DModel.

ComfyUI (``comfy/ldm/flux/model.py``, ``comfy_extras/nodes_flux.py``):

- "index_timestep_zero": reference tokens are placed as "index" places them (frame 10, 20 …) and the image
  stream's modulations use t = 0 for them (the text stream keeps the step's t); every token attends to every
  other one.
- FluxKVCache (the klein 9B KV model's workflow): the first network call of a sampling run with references
  runs as above and keeps each block's reference keys and values (after the rotary embedding); later calls
  drop the reference tokens and let the text and image tokens attend to the kept keys and values too. The
  MODEL's default reference method becomes "index_timestep_zero".

diffusers' own KV mode (``kv_cache_mode``) blends the t = 0 modulations the same way but lets reference tokens
attend only to themselves while the cache is made (Black Forest Labs' pipeline); ComfyUI does not, so the
attention processors here attend fully and only store or add the references' keys and values. Token order
does not matter to attention (positions come from the ids): diffusers puts references before the image.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import torch

REF_ZERO_METHOD = "index_timestep_zero"


class KVCacheState:
    """What FluxKVCache puts in the MODEL's patches: the kept keys and values of each sampling run, keyed by
    the run's batched reference tokens (a new tensor per run and conditioning batch), so runs never share."""

    node_name = "FluxKVCache"

    def __init__(self) -> None:
        self._caches: dict[int, tuple[weakref.ref[torch.Tensor], Any]] = {}

    def get(self, refs: torch.Tensor) -> Any:
        """The kept keys and values for these reference tokens (None: not made yet)."""
        entry = self._caches.get(id(refs))
        return entry[1] if entry is not None and entry[0]() is refs else None

    def keep(self, refs: torch.Tensor, cache: Any) -> None:
        """Keep ``cache`` while ``refs`` (the run's tensor) lives; dropped with it."""
        key = id(refs)
        self._caches[key] = (weakref.ref(refs, lambda _: self._caches.pop(key, None)), cache)

    def __deepcopy__(self, memo: dict[int, Any]) -> KVCacheState:
        return self  # shared by the MODEL's clones, as ComfyUI's patch object is


ACTIVE: ContextVar[KVCacheState | None] = ContextVar("flux2_kv_cache", default=None)


@contextmanager
def kv_cache_active(transformer_options: Any) -> Iterator[None]:
    """While one network call runs: the FluxKVCache state of the call's patches (none: no caching)."""
    states = [p for p in (transformer_options.get("patches") or {}).get("flux_kv_cache", ())]
    token = ACTIVE.set(states[-1] if states else None)
    try:
        yield
    finally:
        ACTIVE.reset(token)


def _attend(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, layer: Any, mode: str | None,
            ref_start: int, refs: int) -> torch.Tensor:
    """Full attention ([B, S, heads, d] tensors); "extract" stores the reference rows' keys and values in
    ``layer``, "cached" attends to ``layer``'s kept ones as well."""
    from diffusers.models.attention_dispatch import dispatch_attention_fn

    if mode == "extract" and layer is not None and refs > 0:
        layer.store(key[:, ref_start:ref_start + refs].clone(), value[:, ref_start:ref_start + refs].clone())
    elif mode == "cached" and layer is not None:
        kept_k, kept_v = layer.get()
        key = torch.cat([key, kept_k.to(key.dtype)], dim=1)
        value = torch.cat([value, kept_v.to(value.dtype)], dim=1)
    return dispatch_attention_fn(query, key, value)  # type: ignore[no-any-return]


class DoubleRefProcessor:
    """Flux2Attention (double-stream blocks) with ComfyUI's full attention over references."""

    def __call__(self, attn: Any, hidden_states: torch.Tensor, encoder_hidden_states: torch.Tensor | None = None,
                 attention_mask: torch.Tensor | None = None, image_rotary_emb: Any = None, kv_cache: Any = None,
                 kv_cache_mode: str | None = None, num_ref_tokens: int = 0) -> Any:
        from diffusers.models.embeddings import apply_rotary_emb
        from diffusers.models.transformers.transformer_flux2 import _get_qkv_projections

        query, key, value, e_query, e_key, e_value = _get_qkv_projections(attn, hidden_states, encoder_hidden_states)
        query, key, value = (t.unflatten(-1, (-1, attn.head_dim)) for t in (query, key, value))
        query, key = attn.norm_q(query), attn.norm_k(key)
        texts = 0
        if encoder_hidden_states is not None:
            e_query, e_key, e_value = (t.unflatten(-1, (-1, attn.head_dim)) for t in (e_query, e_key, e_value))
            e_query, e_key = attn.norm_added_q(e_query), attn.norm_added_k(e_key)
            texts = encoder_hidden_states.shape[1]
            query, key, value = (torch.cat(pair, dim=1) for pair in ((e_query, query), (e_key, key), (e_value, value)))
        if image_rotary_emb is not None:
            query = apply_rotary_emb(query, image_rotary_emb, sequence_dim=1)
            key = apply_rotary_emb(key, image_rotary_emb, sequence_dim=1)
        out = _attend(query, key, value, kv_cache, kv_cache_mode, texts, num_ref_tokens).flatten(2, 3).to(query.dtype)
        if encoder_hidden_states is None:
            return attn.to_out[1](attn.to_out[0](out))
        text, image = out.split_with_sizes([texts, out.shape[1] - texts], dim=1)
        return attn.to_out[1](attn.to_out[0](image)), attn.to_add_out(text)


class SingleRefProcessor:
    """Flux2ParallelSelfAttention (single-stream blocks) with ComfyUI's full attention over references."""

    def __call__(self, attn: Any, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None = None,
                 image_rotary_emb: Any = None, kv_cache: Any = None, kv_cache_mode: str | None = None,
                 num_txt_tokens: int = 0, num_ref_tokens: int = 0) -> torch.Tensor:
        from diffusers.models.embeddings import apply_rotary_emb

        projected = attn.to_qkv_mlp_proj(hidden_states)
        qkv, mlp = torch.split(projected, [3 * attn.inner_dim, projected.shape[-1] - 3 * attn.inner_dim], dim=-1)
        query, key, value = (t.unflatten(-1, (-1, attn.head_dim)) for t in qkv.chunk(3, dim=-1))
        query, key = attn.norm_q(query), attn.norm_k(key)
        if image_rotary_emb is not None:
            query = apply_rotary_emb(query, image_rotary_emb, sequence_dim=1)
            key = apply_rotary_emb(key, image_rotary_emb, sequence_dim=1)
        out = _attend(query, key, value, kv_cache, kv_cache_mode, num_txt_tokens, num_ref_tokens)
        out = out.flatten(2, 3).to(query.dtype)
        return attn.to_out(torch.cat([out, attn.mlp_act_fn(mlp)], dim=-1))  # type: ignore[no-any-return]


@contextmanager
def ref_processors(module: Any) -> Iterator[None]:
    """The module's attention processors swapped for the ones above for one call, then put back."""
    saved = dict(module.attn_processors)
    module.set_attn_processor({name: DoubleRefProcessor() if name.startswith("transformer_blocks.")
                               else SingleRefProcessor() for name in saved})
    try:
        yield
    finally:
        module.set_attn_processor(saved)


def run_with_refs(module: Any, tokens: torch.Tensor, ids: torch.Tensor, refs: torch.Tensor, ref_ids: torch.Tensor,
                  kwargs: dict[str, Any], state: KVCacheState | None) -> torch.Tensor:
    """One network call with references modulated at t = 0; with a FluxKVCache ``state``, the first call of a
    run keeps their keys and values and later ones use them instead of the references. The image tokens'
    output [B, h·w, C]."""
    kept = state.get(refs) if state is not None else None
    with ref_processors(module):
        if kept is not None:
            return module(hidden_states=tokens, img_ids=ids, kv_cache=kept, kv_cache_mode="cached",
                          return_dict=False, **kwargs)[0]  # type: ignore[no-any-return]
        output, cache = module(hidden_states=torch.cat([refs.to(tokens.dtype), tokens], dim=1),
                               img_ids=torch.cat([ref_ids, ids], dim=0), kv_cache_mode="extract",
                               num_ref_tokens=refs.shape[1], ref_fixed_timestep=0.0, return_dict=False, **kwargs)
    if state is not None:
        state.keep(refs, cache)
    return output  # type: ignore[no-any-return]
