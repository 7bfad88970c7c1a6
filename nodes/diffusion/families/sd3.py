"""Stable Diffusion 3 and 3.5 (medium, large, large turbo): the MMDiT in Stability's single-file layout
(``joint_blocks.N.x_block…``, with or without ``model.diffusion_model.``), as diffusers'
SD3Transformer2DModel.

The architecture is read from the tensors: width and patch size (the patch embedding), depth, heads (64
wide, as SD3's; the q-norm's width when it has one), context and pooled widths, the positional table's
size, the blocks with a second image attention (3.5 medium: ``attn2``) and RMS q/k norms (3.5).
diffusers' SD3 converter renames the keys. Sampling as ComfyUI: discrete flow with shift 3.0, the
network fed 1000·σ; latents are SD3's 16 channels (scale 1.5305, shift 0.0609).
"""

from __future__ import annotations

import math
import re
from typing import Any

import torch

from ..patches.dit_blocks import SUPPORTED as DIT_PATCHES
from ..state_dict import TensorIndex, block_count
from .base import Detected, DiffusionFamily, LatentFormat
from .bfl import Table, Target, lora_names, scales_to_diffusers

SD3_LATENT = LatentFormat(16, 1.5305, 0.0609, rgb_factors=(
    (-0.0645, 0.0177, 0.1052), (0.0028, 0.0312, 0.0650), (0.1848, 0.0762, 0.0360), (0.0944, 0.0360, 0.0889),
    (0.0897, 0.0506, -0.0364), (-0.0020, 0.1203, 0.0284), (0.0855, 0.0118, 0.0283), (-0.0539, 0.0658, 0.1047),
    (-0.0057, 0.0116, 0.0700), (-0.0412, 0.0281, -0.0039), (0.1106, 0.1171, 0.1220), (-0.0248, 0.0682, -0.0481),
    (0.0815, 0.0846, 0.1207), (-0.0120, -0.0055, -0.0867), (-0.0749, -0.0634, -0.0456), (-0.1418, -0.1457, -0.1259)),
    taesd_decoder="taesd3_decoder")
MARKER = "joint_blocks.0.x_block.attn.qkv.weight"
HEAD_DIM = 64


class SD3(DiffusionFamily):
    name = "sd3"
    latent = SD3_LATENT
    text_encoders = ("clip_l", "clip_g", "t5xxl")
    vae = "sd3"

    def detect(self, index: TensorIndex) -> Detected | None:
        prefix = index.prefix_of(MARKER)
        if prefix is None or prefix + "x_embedder.proj.weight" not in index:
            return None

        def shape(key: str) -> tuple[int, ...]:
            found = index.shape(prefix + key)
            if found is None:
                raise KeyError(key)
            return found

        keys = {k[len(prefix):]: None for k in index if k.startswith(prefix)}
        width, in_channels, patch, _ = shape("x_embedder.proj.weight")
        norm = index.shape(prefix + "joint_blocks.0.x_block.attn.ln_q.weight")
        head_dim = norm[0] if norm is not None else HEAD_DIM
        positions = shape("pos_embed")[1]
        attn2 = sorted({int(m.group(1)) for k in keys if (m := re.match(r"joint_blocks\.(\d+)\.x_block\.attn2\.", k))})
        config = {"sample_size": 128, "patch_size": patch, "in_channels": in_channels,
                  "num_layers": block_count(keys, "joint_blocks."), "attention_head_dim": head_dim,
                  "num_attention_heads": width // head_dim, "joint_attention_dim": shape("context_embedder.weight")[1],
                  "caption_projection_dim": shape("context_embedder.weight")[0],
                  "pooled_projection_dim": shape("y_embedder.mlp.0.weight")[1],
                  "out_channels": shape("final_layer.linear.weight")[0] // (patch * patch),
                  "pos_embed_max_size": math.isqrt(positions), "dual_attention_layers": tuple(attn2),
                  "qk_norm": "rms_norm" if norm is not None else None}
        variant = "3.5" if norm is not None else "3"
        return Detected(self, config, prefix, variant)

    def build(self, tensors: dict[str, torch.Tensor], detected: Detected, dtype: torch.dtype) -> torch.nn.Module:
        from diffusers import SD3Transformer2DModel
        from diffusers.loaders.single_file_utils import convert_sd3_transformer_checkpoint_to_diffusers

        from ..scaled_fp8 import split_scales
        from ..weights import apply_scales, assemble

        weights, scales = split_scales(tensors, detected.source)
        state = convert_sd3_transformer_checkpoint_to_diffusers(dict(weights))
        model = assemble(SD3Transformer2DModel, detected.config, state, dtype, "transformer", detected.source)
        if scales:
            apply_scales(model, scales_to_diffusers(scales, table(detected.config)))
        return model  # type: ignore[no-any-return]

    def model_sampling(self, detected: Detected) -> Any:
        from .. import model_sampling as ms

        return ms.combine(ms.ModelSamplingDiscreteFlow, ms.CONST, shift=3.0, multiplier=1000)

    def adapter(self, detected: Detected) -> Any:
        return SD3Adapter()

    def lora_names(self, detected: Detected, module: torch.nn.Module) -> dict[str, Any] | None:
        return lora_names(table(detected.config))

    def original_names(self, detected: Detected, module: torch.nn.Module) -> dict[str, str]:
        from .bfl import original_names

        names = original_names(table(detected.config))
        for name, _ in module.named_parameters():  # the q/k norms and patch embedding the table leaves out
            if name in names:
                continue
            match = re.match(r"transformer_blocks\.(\d+)\.(.*)", name)
            if match:
                names[name] = f"joint_blocks.{match.group(1)}.{match.group(2)}"
            elif name.startswith("pos_embed."):
                names[name] = name.replace("pos_embed.", "x_embedder.", 1)
        return names

    def original_state(self, detected: Detected, module: torch.nn.Module) -> dict[str, torch.Tensor]:
        from .bfl import to_original

        state = module.state_dict()
        out = to_original(state, table(detected.config))
        out["pos_embed"] = state["pos_embed.pos_embed"]
        out["x_embedder.proj.weight"] = state["pos_embed.proj.weight"]
        out["x_embedder.proj.bias"] = state["pos_embed.proj.bias"]
        for i in range(int(detected.config["num_layers"])):
            src, dst = f"joint_blocks.{i}.", f"transformer_blocks.{i}."
            for side, attn, q, k in (("x_block.attn", "attn", "norm_q", "norm_k"),
                                     ("context_block.attn", "attn", "norm_added_q", "norm_added_k"),
                                     ("x_block.attn2", "attn2", "norm_q", "norm_k")):
                if f"{dst}{attn}.{q}.weight" in state:
                    out[f"{src}{side}.ln_q.weight"] = state[f"{dst}{attn}.{q}.weight"]
                    out[f"{src}{side}.ln_k.weight"] = state[f"{dst}{attn}.{k}.weight"]
        return out


def table(config: dict[str, Any]) -> Table:
    """The original layout's linear layers → diffusers modules (and rows of the fused q, k, v)."""
    width = int(config["num_attention_heads"]) * int(config["attention_head_dim"])
    q, k, v = (0, width), (width, 2 * width), (2 * width, 3 * width)
    last = int(config["num_layers"]) - 1
    out: Table = {"context_embedder": [Target("context_embedder")],
                  "t_embedder.mlp.0": [Target("time_text_embed.timestep_embedder.linear_1")],
                  "t_embedder.mlp.2": [Target("time_text_embed.timestep_embedder.linear_2")],
                  "y_embedder.mlp.0": [Target("time_text_embed.text_embedder.linear_1")],
                  "y_embedder.mlp.2": [Target("time_text_embed.text_embedder.linear_2")],
                  "final_layer.linear": [Target("proj_out")],
                  "final_layer.adaLN_modulation.1": [Target("norm_out.linear", swap=True)]}
    for i in range(last + 1):
        src, dst = f"joint_blocks.{i}.", f"transformer_blocks.{i}."
        out[src + "x_block.attn.qkv"] = [Target(dst + "attn.to_q", q), Target(dst + "attn.to_k", k),
                                         Target(dst + "attn.to_v", v)]
        out[src + "x_block.attn.proj"] = [Target(dst + "attn.to_out.0")]
        out[src + "x_block.mlp.fc1"] = [Target(dst + "ff.net.0.proj")]
        out[src + "x_block.mlp.fc2"] = [Target(dst + "ff.net.2")]
        out[src + "x_block.adaLN_modulation.1"] = [Target(dst + "norm1.linear")]
        out[src + "context_block.attn.qkv"] = [Target(dst + "attn.add_q_proj", q), Target(dst + "attn.add_k_proj", k),
                                               Target(dst + "attn.add_v_proj", v)]
        if i in tuple(config.get("dual_attention_layers") or ()):
            out[src + "x_block.attn2.qkv"] = [Target(dst + "attn2.to_q", q), Target(dst + "attn2.to_k", k),
                                              Target(dst + "attn2.to_v", v)]
            out[src + "x_block.attn2.proj"] = [Target(dst + "attn2.to_out.0")]
        # the last block's context side ends after attention: a final-style (scale, shift) modulation only
        out[src + "context_block.adaLN_modulation.1"] = [Target(dst + "norm1_context.linear", swap=i == last)]
        if i != last:
            out[src + "context_block.attn.proj"] = [Target(dst + "attn.to_add_out")]
            out[src + "context_block.mlp.fc1"] = [Target(dst + "ff_context.net.0.proj")]
            out[src + "context_block.mlp.fc2"] = [Target(dst + "ff_context.net.2")]
    return out


class SD3Adapter:
    """Feeds a diffusers SD3Transformer2DModel (see ``conds.ModelAdapter``): the context, the pooled output
    (zeros when the entry has none), the latent padded to the patch size (wrapping, as ComfyUI) and the
    prediction cropped back; ControlNet residuals (``conds["control"]``) are added after each joint block."""

    control_family = "sd3"  # the ControlNets it drives (``control.base.ControlInputs.family``)

    spatial_keys: frozenset[str] = frozenset()

    supported_patches: frozenset[str] = DIT_PATCHES

    def patched(self, module: Any, transformer_options: dict[str, Any]) -> Any:
        """One call of ``module`` with the call's DiT block replacements (see ``patches.dit_blocks``)."""
        from ..patches.dit_blocks import DOUBLE_SD3, installed

        return installed(module, transformer_options, (DOUBLE_SD3,))

    def encode(self, module: Any, embedding: torch.Tensor, options: dict[str, Any], ctx: Any
               ) -> dict[str, torch.Tensor]:
        pooled = options.get("pooled_output")
        if pooled is None:
            pooled = torch.zeros(1, module.config.pooled_projection_dim)
        return {"context": embedding.to(ctx.device, ctx.dtype), "pooled": pooled.to(ctx.device, ctx.dtype)}

    def apply(self, module: Any, x_in: torch.Tensor, timestep: torch.Tensor,
              conds: dict[str, torch.Tensor]) -> torch.Tensor:
        from ..control.inject import block_residuals
        from .flux import pad_to_patch

        h, w = x_in.shape[-2:]
        x = pad_to_patch(x_in, int(module.config.patch_size))
        residuals: dict[str, Any] = {}
        control = conds.get("control")
        if control is not None:
            from ..control.base import ControlInputs

            values = {"context": conds["context"], "pooled": conds["pooled"]}
            residuals = control(ControlInputs("sd3", x_in, timestep, module, values,
                                              {"blocks": len(module.transformer_blocks)}))
        with block_residuals(module.transformer_blocks, residuals.get("blocks") or []):
            output: torch.Tensor = module(hidden_states=x, encoder_hidden_states=conds["context"],
                                          pooled_projections=conds["pooled"], timestep=timestep.to(x.dtype),
                                          return_dict=False)[0]
        return output[..., :h, :w]
