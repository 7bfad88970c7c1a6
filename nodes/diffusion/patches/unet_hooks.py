"""ComfyUI's attention and block patches on diffusers' UNet2DConditionModel, for one network call.

ComfyUI's UNet names its blocks as the original (LDM) layout does, and patches address them that way:
input block 0 is ``conv_in``; then each down level's resnet (+ transformer) pairs and its downsampler are one
input block each; the middle block is ("middle", 0); output blocks count the up levels' resnet (+ transformer)
pairs from the deepest level. A transformer inside a block is addressed by its index (``block_index``).
:func:`layout_of` maps diffusers' modules onto those names.

:func:`installed` makes one call of the module run the call's ``transformer_options`` patches, where
ComfyUI's ``openaimodel.py`` and ``attention.py`` call them:

- attention (``attn1_patch``/``attn2_patch`` on the normed hidden states, context and value before the
  projections; ``attn1``/``attn2`` replacements of the attention itself on the projected q, k, v;
  ``attn1_output_patch``/``attn2_output_patch`` after the output projection) — an attention processor on
  every ``Attention`` module, delegating to the original processor where the call patches nothing;
- ``middle_patch`` (each transformer block's hidden state after its self-attention, before the cross-
  attention: where GLIGEN's fusers run) — diffusers' own GLIGEN hook point in ``BasicTransformerBlock``
  (its ``fuser``), set for the call;
- ``input_block_patch`` (output of an input block: both the skip and what continues),
  ``input_block_patch_after_skip`` (what continues only), ``middle_block_patch``, ``output_block_patch``
  (the hidden state and its skip just before they are concatenated) — module forward hooks.

Processors and hooks are removed when the call ends, so the shared module is left exactly as it was. Like
ComfyUI, an up block's upsampler resizes to the size of the skip that follows (``upsample_size``), so
patches that change a block's size (Kohya deep shrink) line up again.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch

from .attention import attention

ATTENTION_PATCHES = ("attn1_patch", "attn2_patch", "attn1_output_patch", "attn2_output_patch")
BLOCK_PATCHES = ("input_block_patch", "input_block_patch_after_skip", "middle_block_patch", "output_block_patch")
REPLACEMENTS = ("attn1", "attn2")
SUPPORTED = frozenset(ATTENTION_PATCHES + BLOCK_PATCHES + REPLACEMENTS + ("middle_patch",))

Block = tuple[str, int]


@dataclass
class Layout:
    """diffusers modules under ComfyUI's block names."""

    attentions: list[tuple[Any, str, Block, int]] = field(default_factory=list)  # (Attention, attn1|2, block, index)
    inputs: list[tuple[int, Any]] = field(default_factory=list)  # (input block id, module whose output it is)
    consumers: dict[int, Any] = field(default_factory=dict)  # input block id → module that takes its output next
    ups: list[tuple[Any, int, list[Any]]] = field(default_factory=list)  # (up block, first output id, unit outputs)
    # (BasicTransformerBlock, block, block_index, transformer_index): ComfyUI counts transformers
    # (SpatialTransformer, diffusers' Transformer2DModel) in the order the network runs them
    blocks: list[tuple[Any, Block, int, int]] = field(default_factory=list)
    transformer_of: dict[int, int] = field(default_factory=dict)  # id(Attention) → its transformer_index
    transformers: int = 0


_LAYOUTS: weakref.WeakKeyDictionary[Any, Layout] = weakref.WeakKeyDictionary()


def _add_attentions(layout: Layout, transformer: Any, block: Block, start: int) -> int:
    number = layout.transformers
    layout.transformers += 1
    for index, tb in enumerate(getattr(transformer, "transformer_blocks", ()), start):
        layout.blocks.append((tb, block, index, number))
        for kind in REPLACEMENTS:
            module = getattr(tb, kind, None)
            if module is not None:
                layout.attentions.append((module, kind, block, index))
                layout.transformer_of[id(module)] = number
    return start + len(getattr(transformer, "transformer_blocks", ()))


def layout_of(unet: Any) -> Layout:
    """The ComfyUI block names of a UNet2DConditionModel's modules (computed once per module)."""
    found = _LAYOUTS.get(unet)
    if found is not None:
        return found
    layout = Layout()
    layout.inputs.append((0, unet.conv_in))
    pending = [0]  # input blocks whose output the next module to run takes
    block_id = 0

    def consumed_by(module: Any) -> None:
        for waiting in pending:
            layout.consumers[waiting] = module
        pending.clear()

    for down in unet.down_blocks:
        attentions = getattr(down, "attentions", None)
        for j, resnet in enumerate(down.resnets):
            consumed_by(resnet)
            block_id += 1
            if attentions is not None:
                _add_attentions(layout, attentions[j], ("input", block_id), 0)
            layout.inputs.append((block_id, attentions[j] if attentions is not None else resnet))
            pending.append(block_id)
        if down.downsamplers is not None:
            consumed_by(down.downsamplers[0])
            block_id += 1
            layout.inputs.append((block_id, down.downsamplers[0]))
            pending.append(block_id)
    mid = unet.mid_block
    if mid is not None:
        consumed_by(mid.resnets[0])
        index = 0
        for transformer in getattr(mid, "attentions", ()):
            index = _add_attentions(layout, transformer, ("middle", 0), index)
    else:
        consumed_by(unet.up_blocks[0])
    out_id = 0
    for up in unet.up_blocks:
        attentions = getattr(up, "attentions", None)
        units = []
        for j, resnet in enumerate(up.resnets):
            if attentions is not None:
                _add_attentions(layout, attentions[j], ("output", out_id + j), 0)
            units.append(attentions[j] if attentions is not None else resnet)
        layout.ups.append((up, out_id, units))
        out_id += len(up.resnets)
    _LAYOUTS[unet] = layout
    return layout


def _tensor(output: Any) -> torch.Tensor:
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, tuple):
        return output[0]  # type: ignore[no-any-return]
    return output.sample  # type: ignore[no-any-return]


def _with_tensor(output: Any, tensor: torch.Tensor) -> Any:
    if isinstance(output, torch.Tensor):
        return tensor
    if isinstance(output, tuple):
        return (tensor, *output[1:])
    output.sample = tensor
    return output


class _Call:
    """One network call: its transformer_options and what the hooks pass between each other."""

    def __init__(self, transformer_options: dict[str, Any]) -> None:
        self.options = transformer_options
        self.patches: dict[str, list[Callable[..., Any]]] = transformer_options.get("patches") or {}
        self.replace: dict[str, dict[tuple[Any, ...], Callable[..., Any]]] = (
            transformer_options.get("patches_replace") or {})
        self.skip_shapes: list[torch.Size] = []  # every input block's skip, in order
        self.remaining = 0  # skips not yet taken by an up block
        self.up_skips: tuple[torch.Tensor, ...] = ()  # the skips of the up block running now
        self.upsample_to: torch.Size | None = None

    def extra_options(self, heads: int, dim_head: int, block: Block, index: int,
                      transformer_index: int | None = None) -> dict[str, Any]:
        """ComfyUI's ``extra_options`` of a transformer block: the call's options without the patches."""
        extra = {k: v for k, v in self.options.items() if k not in ("patches", "patches_replace")}
        extra.update(block=block, block_index=index, n_heads=heads, dim_head=dim_head, attn_precision=None)
        if transformer_index is not None:
            extra["transformer_index"] = transformer_index
        return extra


class _Processor:
    """An attention processor running ComfyUI's attention patches, else the module's own processor."""

    def __init__(self, original: Any, kind: str, block: Block, index: int, call: _Call,
                 transformer_index: int | None = None) -> None:
        self.original, self.kind, self.block, self.index, self.call = original, kind, block, index, call
        self.transformer_index = transformer_index

    def __call__(self, attn: Any, hidden_states: torch.Tensor, encoder_hidden_states: torch.Tensor | None = None,
                 attention_mask: torch.Tensor | None = None, temb: torch.Tensor | None = None,
                 *args: Any, **kwargs: Any) -> torch.Tensor:
        before = self.call.patches.get(f"{self.kind}_patch") or ()
        after = self.call.patches.get(f"{self.kind}_output_patch") or ()
        by_block = self.call.replace.get(self.kind) or {}
        replace = by_block.get((*self.block, self.index)) or by_block.get(self.block)
        if not (before or after or replace):
            out: torch.Tensor = self.original(attn, hidden_states, encoder_hidden_states, attention_mask, temb,
                                              *args, **kwargs)
            return out
        if (hidden_states.ndim != 3 or attn.spatial_norm is not None or attn.group_norm is not None
                or attn.norm_cross or attn.residual_connection or attn.rescale_output_factor != 1.0
                or attn.norm_q is not None or attn.norm_k is not None):
            raise NotImplementedError(f"attention patches on {type(attn).__name__} at {self.block}: this attention "
                                      "layer has features ComfyUI's patch points do not cover")
        inner = attn.to_q.out_features
        extra = self.call.extra_options(attn.heads, inner // attn.heads, self.block, self.index,
                                        self.transformer_index)
        n = hidden_states
        context = n if encoder_hidden_states is None else encoder_hidden_states
        value = context
        for patch in before:
            n, context, value = patch(n, context, value, extra)
        q, k, v = attn.to_q(n), attn.to_k(context), attn.to_v(value)
        if replace is not None:
            out = replace(q, k, v, extra)
        else:
            mask = None
            if attention_mask is not None:
                mask = attn.prepare_attention_mask(attention_mask, k.shape[1], q.shape[0])
                mask = mask.view(q.shape[0], attn.heads, -1, mask.shape[-1])
            out = attention(q, k, v, attn.heads, mask)
        out = attn.to_out[1](attn.to_out[0](out))
        for patch in after:
            out = patch(out, extra)
        return out


def _first_input(args: tuple[Any, ...], kwargs: dict[str, Any]) -> torch.Tensor:
    return args[0] if args else kwargs["hidden_states"]  # type: ignore[no-any-return]


def _replace_first_input(args: tuple[Any, ...], kwargs: dict[str, Any], value: torch.Tensor
                         ) -> tuple[tuple[Any, ...], dict[str, Any]]:
    if args:
        return (value, *args[1:]), kwargs
    return args, {**kwargs, "hidden_states": value}


def _input_hook(call: _Call, block_id: int) -> Callable[..., Any]:
    def hook(module: Any, args: Any, output: Any) -> Any:
        h = _tensor(output)
        call.options["block"] = ("input", block_id)
        for patch in call.patches.get("input_block_patch") or ():
            h = patch(h, call.options)
        call.skip_shapes.append(h.shape)
        return _with_tensor(output, h)

    return hook


def _after_skip_hook(call: _Call, block_id: int) -> Callable[..., Any]:
    def hook(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        h = _first_input(args, kwargs)
        call.options["block"] = ("input", block_id)
        for patch in call.patches.get("input_block_patch_after_skip") or ():
            h = patch(h, call.options)
        return _replace_first_input(args, kwargs, h)

    return hook


def _middle_hook(call: _Call) -> Callable[..., Any]:
    def hook(module: Any, args: Any, output: Any) -> Any:
        h = _tensor(output)
        call.options["block"] = ("middle", 0)
        for patch in call.patches.get("middle_block_patch") or ():
            h = patch(h, call.options)
        return _with_tensor(output, h)

    return hook


def _output_patches(call: _Call, out_id: int, h: torch.Tensor, hsp: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    call.options["block"] = ("output", out_id)
    for patch in call.patches.get("output_block_patch") or ():
        h, hsp = patch(h, hsp, call.options)
    return h, hsp


def _up_block_hook(call: _Call, first_id: int, count: int, has_upsampler: bool) -> Callable[..., Any]:
    """Before an up block: its first output block's patch, and the size its upsampler must reach."""
    def hook(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        kwargs = dict(kwargs)
        skips = tuple(kwargs["res_hidden_states_tuple"])
        call.remaining -= count
        call.upsample_to = call.skip_shapes[call.remaining - 1] if has_upsampler and call.remaining > 0 else None
        h, hsp = _output_patches(call, first_id, kwargs["hidden_states"], skips[-1])
        call.up_skips = (*skips[:-1], hsp)
        kwargs.update(hidden_states=h, res_hidden_states_tuple=call.up_skips)
        return args, kwargs

    return hook


def _unit_hook(call: _Call, out_id: int, j: int) -> Callable[..., Any]:
    """After output block ``out_id − 1``: output block ``out_id``'s patch on the hidden state and its skip.

    The up block concatenates the skip it was given, so a patched skip is written into that tensor."""
    def hook(module: Any, args: Any, output: Any) -> Any:
        skip = call.up_skips[-1 - j]
        h, patched = _output_patches(call, out_id, _tensor(output), skip)
        if patched is not skip:
            if patched.shape != skip.shape:
                raise NotImplementedError(f"an output_block_patch changed the shape of output block {out_id}'s "
                                          "skip connection, which diffusers' up blocks cannot take")
            skip.copy_(patched)
        return _with_tensor(output, h)

    return hook


def _upsampler_hook(call: _Call) -> Callable[..., Any]:
    def hook(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        target = call.upsample_to
        h = _first_input(args, kwargs)
        if target is None or tuple(target[2:]) == (h.shape[2] * 2, h.shape[3] * 2):
            return None
        if len(args) > 1:
            return (args[0], tuple(target[2:]), *args[2:]), kwargs
        return args, {**kwargs, "output_size": tuple(target[2:])}

    return hook


class _Middle:
    """A transformer block's ``fuser`` for one call: runs the call's middle patches on the hidden state
    (diffusers calls it where ComfyUI calls ``middle_patch``: after self-attention, before cross-attention)."""

    def __init__(self, call: _Call, block: Any, name: Block, index: int, transformer_index: int) -> None:
        attn = block.attn1
        heads = attn.heads
        self.extra = call.extra_options(heads, attn.to_q.out_features // heads, name, index, transformer_index)
        self.patches = call.patches.get("middle_patch") or ()

    def __call__(self, hidden_states: torch.Tensor, objs: Any) -> torch.Tensor:
        for patch in self.patches:
            hidden_states = patch(hidden_states, self.extra)
        return hidden_states


def _with_middle(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Make the block take its GLIGEN branch (which calls ``fuser``) for this call."""
    if len(args) > 5:  # cross_attention_kwargs given by position
        extra = dict(args[5] or {})
        extra["gligen"] = {"objs": None}
        return (*args[:5], extra, *args[6:]), kwargs
    extra = dict(kwargs.get("cross_attention_kwargs") or {})
    extra["gligen"] = {"objs": None}
    return args, {**kwargs, "cross_attention_kwargs": extra}


@contextmanager
def installed(unet: Any, transformer_options: dict[str, Any]) -> Iterator[None]:
    """Run the call's patches during one call of ``unet``; everything is removed afterwards."""
    call = _Call(transformer_options)
    layout = layout_of(unet)
    swapped: list[tuple[Any, Any]] = []
    handles: list[Any] = []
    fused: list[Any] = []
    try:
        if call.patches.get("middle_patch"):
            for block, name, index, number in layout.blocks:
                if "fuser" in block._modules or "fuser" in block.__dict__:
                    raise NotImplementedError(f"middle patches on a transformer block at {name} that has its own "
                                              "GLIGEN fuser")
                block.fuser = _Middle(call, block, name, index, number)
                fused.append(block)
                handles.append(block.register_forward_pre_hook(_with_middle, with_kwargs=True))
        if any(call.patches.get(n) for n in ATTENTION_PATCHES) or any(call.replace.get(n) for n in REPLACEMENTS):
            for module, kind, block, index in layout.attentions:
                original = module.processor
                module.set_processor(_Processor(original, kind, block, index, call,
                                                layout.transformer_of.get(id(module))))
                swapped.append((module, original))
        if any(call.patches.get(n) for n in BLOCK_PATCHES):
            for block_id, module in layout.inputs:
                handles.append(module.register_forward_hook(_input_hook(call, block_id)))
            if call.patches.get("input_block_patch_after_skip"):
                for block_id, consumer in layout.consumers.items():
                    handles.append(consumer.register_forward_pre_hook(_after_skip_hook(call, block_id),
                                                                      with_kwargs=True))
            if unet.mid_block is not None and call.patches.get("middle_block_patch"):
                handles.append(unet.mid_block.register_forward_hook(_middle_hook(call)))
            call.remaining = len(layout.inputs)
            for up, first_id, units in layout.ups:
                upsamplers = getattr(up, "upsamplers", None)
                handles.append(up.register_forward_pre_hook(
                    _up_block_hook(call, first_id, len(units), upsamplers is not None), with_kwargs=True))
                for j in range(1, len(units)):
                    handles.append(units[j - 1].register_forward_hook(_unit_hook(call, first_id + j, j)))
                if upsamplers is not None:
                    handles.append(upsamplers[0].register_forward_pre_hook(_upsampler_hook(call), with_kwargs=True))
        yield
    finally:
        for handle in handles:
            handle.remove()
        for module, original in swapped:
            module.set_processor(original)
        for block in fused:
            del block.fuser
