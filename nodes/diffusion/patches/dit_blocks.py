"""ComfyUI's block replacements for DiT models (``transformer_options["patches_replace"]["dit"]``), on
diffusers' transformer modules.

ComfyUI's DiTs (Flux, Chroma, SD3, Wan, Qwen-Image …) look up ``("double_block", i)`` / ``("single_block", i)``
before calling block i and, when a replacement is registered, call it instead as ``fn(args, {"original_block":
block_wrap})`` with the block's inputs under ComfyUI's names (``img``, ``txt``, ``vec``, ``pe``, ``attn_mask`` and
``transformer_options``) and take ``out["img"]`` (and ``out["txt"]``) back. SkipLayerGuidance registers
``lambda args, extra: args``: the block is skipped.

Here a family's adapter names its block lists with :class:`BlockLayout` (which module list, the diffusers
``forward`` parameters that are ComfyUI's inputs, what the block returns) and :func:`installed` makes one
network call route the replaced blocks through their replacements, restoring the blocks afterwards.
``original_block(args)`` runs the diffusers block on ``args`` (other parameters as the model passed them).
Flux's single blocks take text and image tokens apart in diffusers (``img`` and ``txt``), where ComfyUI's take
them concatenated in ``img``.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

DIT = "dit"  # the patches_replace name DiT block replacements live under
SUPPORTED = frozenset({DIT})


@dataclass(frozen=True)
class BlockLayout:
    """One list of blocks: ``attr`` on the transformer (``transformer_blocks`` …), ComfyUI's ``kind`` for it,
    diffusers ``forward`` parameter → ComfyUI argument name, and ComfyUI's names of what the block returns
    (in order; one name: the block returns a bare tensor)."""

    attr: str
    kind: str
    inputs: Mapping[str, str]
    outputs: tuple[str, ...]


DOUBLE_FLUX = BlockLayout("transformer_blocks", "double_block", {
    "hidden_states": "img", "encoder_hidden_states": "txt", "temb": "vec", "image_rotary_emb": "pe",
    "attention_mask": "attn_mask"}, ("txt", "img"))


SINGLE_FLUX = BlockLayout("single_transformer_blocks", "single_block", DOUBLE_FLUX.inputs, ("txt", "img"))
SINGLE_CHROMA = BlockLayout("single_transformer_blocks", "single_block", {
    "hidden_states": "img", "temb": "vec", "image_rotary_emb": "pe", "attention_mask": "attn_mask"}, ("img",))
DOUBLE_SD3 = BlockLayout("transformer_blocks", "double_block", {
    "hidden_states": "img", "encoder_hidden_states": "txt", "temb": "vec"}, ("txt", "img"))
DOUBLE_WAN = BlockLayout("blocks", "double_block", {
    "hidden_states": "img", "encoder_hidden_states": "txt", "temb": "vec", "rotary_emb": "pe"}, ("img",))
DOUBLE_QWEN = BlockLayout("transformer_blocks", "double_block", {
    "hidden_states": "img", "encoder_hidden_states": "txt", "temb": "vec", "image_rotary_emb": "pe"},
    ("txt", "img"))


def flux_layouts(module: Any) -> tuple[BlockLayout, ...]:
    """Flux's double and single blocks; Chroma's single blocks take the joined tokens and return them."""
    singles: Any = getattr(module, "single_transformer_blocks", None) or []
    joined = bool(singles) and "encoder_hidden_states" not in inspect.signature(singles[0].forward).parameters
    return DOUBLE_FLUX, SINGLE_CHROMA if joined else SINGLE_FLUX


def replacements(transformer_options: Mapping[str, Any]) -> Mapping[Any, Any]:
    return (transformer_options.get("patches_replace") or {}).get(DIT) or {}


ROPE_ATTR = "inkgraph_rope_options"  # where an adapter that builds its own position ids finds rope_options


@contextmanager
def rope_options_set(module: Any, options: Mapping[str, float]) -> Iterator[None]:
    """ScaleROPE's options on ``module`` (``ROPE_ATTR``) for one call, for adapters that compute the position
    ids themselves (Flux's)."""
    module.__dict__[ROPE_ATTR] = dict(options)
    try:
        yield
    finally:
        module.__dict__.pop(ROPE_ATTR, None)


@contextmanager
def installed(module: Any, transformer_options: Mapping[str, Any], layouts: tuple[BlockLayout, ...],
              rope: Any = None, context: Any = None) -> Iterator[None]:
    """One call of ``module`` with its replaced blocks running their replacements (blocks restored after);
    for ScaleROPE's ``rope_options``, ``rope(rope_module, options)`` gives the rotary embedding's forward
    (Wan) or ``context(module, options)`` is entered around the call (Flux)."""
    replace = replacements(transformer_options)
    changed: list[tuple[Any, Any]] = []
    options = transformer_options.get("rope_options")
    if options and context is not None:
        with context(module, options), installed(module, transformer_options, layouts, rope):
            yield
        return
    try:
        if options and rope is not None:
            changed.append((module.rope, module.rope.__dict__.get("forward")))
            module.rope.forward = rope(module.rope, options)
        for layout in layouts:
            for index, block in enumerate(getattr(module, layout.attr, None) or ()):
                fn = replace.get((layout.kind, index))
                if fn is None:
                    continue
                changed.append((block, block.__dict__.get("forward")))
                block.forward = _routed(block.forward, fn, layout, transformer_options)
        yield
    finally:
        for block, previous in reversed(changed):
            if previous is None:
                del block.forward
            else:
                block.forward = previous


def _routed(original: Any, fn: Any, layout: BlockLayout, transformer_options: Mapping[str, Any]) -> Any:
    signature = inspect.signature(original)

    def forward(*args: Any, **kwargs: Any) -> Any:
        call = dict(signature.bind(*args, **kwargs).arguments)
        named = {layout.inputs[name]: value for name, value in call.items() if name in layout.inputs}
        named["transformer_options"] = transformer_options

        def original_block(block_args: Mapping[str, Any]) -> dict[str, Any]:
            again = dict(call)
            for name, key in layout.inputs.items():
                if key in block_args and name in again:
                    again[name] = block_args[key]
            result = original(**again)
            values = result if isinstance(result, tuple) else (result,)
            return dict(zip(layout.outputs, values, strict=False))

        out = fn(named, {"original_block": original_block})
        values = tuple(out[name] for name in layout.outputs)
        return values if len(values) > 1 else values[0]

    return forward


def scaled_rope(rope: Any, options: Mapping[str, float]) -> Any:
    """A forward for diffusers' ``WanRotaryPosEmbed`` with ComfyUI's ``rope_options``: along each axis the
    positions 0 … n−1 become shift + i·scale (Wan's ``rope_encode``), the frequencies those of θ = 10⁴."""
    import torch

    def axis(dim: int, count: int, scale: float, shift: float, device: Any) -> tuple[Any, Any]:
        positions = shift + torch.arange(count, dtype=torch.float64, device=device) * scale
        inverse = 1.0 / (10000.0 ** (torch.arange(0, dim, 2, dtype=torch.float64, device=device) / dim))
        angles = torch.outer(positions, inverse)
        return angles.cos().repeat_interleave(2, -1), angles.sin().repeat_interleave(2, -1)

    def forward(hidden_states: Any) -> tuple[Any, Any]:
        _, _, frames, height, width = hidden_states.shape
        p_t, p_h, p_w = rope.patch_size
        counts = (frames // p_t, height // p_h, width // p_w)
        device = hidden_states.device
        parts = [axis(dim, n, float(options.get(f"scale_{k}", 1.0)), float(options.get(f"shift_{k}", 0.0)), device)
                 for dim, n, k in zip((rope.t_dim, rope.h_dim, rope.w_dim), counts, "tyx", strict=True)]
        shapes = ((counts[0], 1, 1, -1), (1, counts[1], 1, -1), (1, 1, counts[2], -1))
        total = counts[0] * counts[1] * counts[2]
        cos = torch.cat([p[0].view(s).expand(*counts, -1) for p, s in zip(parts, shapes, strict=True)], dim=-1)
        sin = torch.cat([p[1].view(s).expand(*counts, -1) for p, s in zip(parts, shapes, strict=True)], dim=-1)
        dtype = rope.freqs_cos.dtype
        return cos.reshape(1, total, 1, -1).to(dtype), sin.reshape(1, total, 1, -1).to(dtype)

    return forward
