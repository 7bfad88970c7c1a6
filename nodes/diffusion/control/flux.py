"""Flux.1 ControlNets: InstantX's and Shakker Labs' (single and union, diffusers layout) and XLabs' (Black
Forest Labs' layout), as diffusers' FluxControlNetModel.

InstantX/Shakker: the hint is VAE-encoded into Flux's latent space and packed into 2×2 patches; a union model
prepends the control type's token to the text when a type is set (SetUnionControlNetType; "auto" adds none, as
ComfyUI). XLabs: the hint stays an image (scaled to -1..1), its own small convolution stack brings it to the
latent's token grid. Both run the main model's inputs (packed latent, ids, context, pooled output, guidance)
through their double (and single) blocks; their outputs are spread over the main model's blocks — each repeated
in a row (InstantX) or the whole list cycled (XLabs) — and added to its image tokens.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

import torch

from ..families import bfl
from ..families.flux import pack, pad_to_patch, rope_axes
from ..state_dict import TensorIndex, block_count
from .base import ControlDetected, ControlInputs, ControlKind, ControlNet, Residuals, repeat_blocks


def _flux_inputs(inputs: ControlInputs, net: Any, dtype: torch.dtype) -> dict[str, Any]:
    values = inputs.values
    kwargs: dict[str, Any] = {"encoder_hidden_states": values["context"].to(dtype),
                              "pooled_projections": values["pooled"].to(dtype), "timestep": inputs.timestep.to(dtype),
                              "img_ids": values["img_ids"], "txt_ids": values["txt_ids"]}
    if net.config.guidance_embeds:
        guidance = values.get("guidance")
        if guidance is None:
            raise ValueError("this Flux ControlNet embeds guidance; the model being sampled gives none (schnell?)")
        kwargs["guidance"] = guidance
    return kwargs


class FluxInstantX(ControlKind):
    """InstantX and Shakker Labs Flux ControlNets (single type or union)."""

    name = "flux_instantx"
    families = frozenset({"flux"})
    compression = 1
    latent_input = True

    def detect(self, index: TensorIndex) -> ControlDetected | None:
        if "controlnet_x_embedder.weight" not in index or "controlnet_blocks.0.weight" not in index:
            return None
        if "txt_norm.weight" in index or "context_embedder.weight" not in index:
            return None  # Qwen-Image's
        keys = dict.fromkeys(index)
        head = index["transformer_blocks.0.attn.norm_q.weight"].shape[0]
        width, channels = index["x_embedder.weight"].shape
        control_channels = index["controlnet_x_embedder.weight"].shape[1]
        if control_channels != channels:
            raise ValueError(f"a Flux ControlNet taking {control_channels // 4} hint channels (an inpainting one) is "
                             "not supported")
        config = {"patch_size": 1, "in_channels": channels, "num_layers": block_count(keys, "transformer_blocks."),
                  "num_single_layers": block_count(keys, "single_transformer_blocks."), "attention_head_dim": head,
                  "num_attention_heads": width // head,
                  "joint_attention_dim": index["context_embedder.weight"].shape[1],
                  "pooled_projection_dim": index["time_text_embed.text_embedder.linear_1.weight"].shape[1],
                  "guidance_embeds": "time_text_embed.guidance_embedder.linear_1.weight" in index,
                  "axes_dims_rope": list(rope_axes(head))}
        variant = ""
        if "controlnet_mode_embedder.weight" in index:
            config["num_mode"] = index["controlnet_mode_embedder.weight"].shape[0]
            variant = "union"
        return ControlDetected(self, config, "", variant)

    def build(self, tensors: dict[str, torch.Tensor], detected: ControlDetected, dtype: torch.dtype
              ) -> torch.nn.Module:
        from diffusers import FluxControlNetModel

        from ..weights import assemble

        return assemble(FluxControlNetModel, detected.config, tensors, dtype, "Flux ControlNet", detected.source)

    def residuals(self, net: Any, detected: ControlDetected, control: ControlNet, hint: torch.Tensor,
                  inputs: ControlInputs) -> Residuals:
        dtype = hint.dtype
        cond = pack(pad_to_patch(hint))
        kwargs = _flux_inputs(inputs, net, dtype)
        types = [int(t) for t in control.extra_args.get("control_type") or []]
        with _union(net, bool(types)):
            if types:
                kwargs["controlnet_mode"] = torch.tensor([types[:1]] * cond.shape[0], device=cond.device)
            double, single = net(hidden_states=inputs.values["tokens"].to(dtype), controlnet_cond=cond,
                                 return_dict=False, **kwargs)
        return {"double": repeat_blocks(list(double or ()), inputs.blocks["double"]),
                "single": repeat_blocks(list(single or ()), inputs.blocks["single"])}


@contextmanager
def _union(net: Any, on: bool) -> Any:
    """A union model without a control type runs without the type token (ComfyUI's "auto")."""
    union = net.union
    net.union = union and on
    try:
        yield
    finally:
        net.union = union


class FluxXLabs(ControlKind):
    """XLabs' Flux ControlNets (canny, depth, hed …): two double blocks and a hint convolution stack."""

    name = "flux_xlabs"
    families = frozenset({"flux"})

    def detect(self, index: TensorIndex) -> ControlDetected | None:
        if "controlnet_blocks.0.weight" not in index or "double_blocks.0.img_attn.norm.key_norm.scale" not in index:
            return None
        keys = dict.fromkeys(index)
        head = index["double_blocks.0.img_attn.norm.query_norm.scale"].shape[0]
        width, channels = index["img_in.weight"].shape
        config = {"patch_size": 2, "in_channels": channels, "num_layers": block_count(keys, "double_blocks."),
                  "num_single_layers": 0, "attention_head_dim": head, "num_attention_heads": width // head,
                  "joint_attention_dim": index["txt_in.weight"].shape[1],
                  "pooled_projection_dim": index["vector_in.in_layer.weight"].shape[1],
                  "guidance_embeds": "guidance_in.in_layer.weight" in index, "axes_dims_rope": list(rope_axes(head)),
                  "conditioning_embedding_channels": index["pos_embed_input.weight"].shape[1] // 4}
        return ControlDetected(self, config, "", "xlabs")

    def build(self, tensors: dict[str, torch.Tensor], detected: ControlDetected, dtype: torch.dtype
              ) -> torch.nn.Module:
        from diffusers import FluxControlNetModel

        from ..weights import assemble

        config = detected.config
        table = bfl.table({**config, "num_single_layers": 0})
        table = {k: v for k, v in table.items() if not k.startswith("final_layer")}
        hint = sorted({int(k.split(".")[1]) for k in tensors if k.startswith("input_hint_block.")})
        names = ["conv_in", *(f"blocks.{i}" for i in range(len(hint) - 2)), "conv_out"]
        state = {}
        for key, value in tensors.items():
            if key.startswith("input_hint_block."):
                _, number, param = key.split(".")
                state[f"input_hint_block.{names[hint.index(int(number))]}.{param}"] = value
            elif key.startswith(("controlnet_blocks.", "pos_embed_input.")):
                state[key.replace("pos_embed_input.", "controlnet_x_embedder.")] = value
        rest = {k: v for k, v in tensors.items()
                if not k.startswith(("input_hint_block.", "controlnet_blocks.", "pos_embed_input."))}
        state.update(bfl.to_diffusers(rest, table, detected.source))
        return assemble(FluxControlNetModel, config, state, dtype, "XLabs ControlNet", detected.source)

    def residuals(self, net: Any, detected: ControlDetected, control: ControlNet, hint: torch.Tensor,
                  inputs: ControlInputs) -> Residuals:
        dtype = hint.dtype
        double, _ = net(hidden_states=inputs.values["tokens"].to(dtype), controlnet_cond=hint * 2.0 - 1.0,
                        return_dict=False, **_flux_inputs(inputs, net, dtype))
        return {"double": repeat_blocks(list(double or ()), inputs.blocks["double"], cyclic=True)}


KINDS: list[ControlKind] = [FluxXLabs(), FluxInstantX()]
