"""Flux.2 (dev 32B; klein 4B and 9B, base and distilled) in Black Forest Labs' single-file layout, with or
without ComfyUI's ``model.diffusion_model.`` prefix (``flux2_dev_fp8mixed.safetensors``,
``flux-2-klein-4b.safetensors``, ``flux-2-klein-base-9b-fp8.safetensors`` …), as diffusers'
Flux2Transformer2DModel.

Told from Flux.1 by its shared modulations (``double_stream_modulation_img``, ``single_stream_modulation``):
Flux.2's blocks carry no modulation of their own, no biases, and a SwiGLU MLP. The architecture is read from
the tensors: width (``img_in``) and head width (the q-norm scale), double and single block counts, the text
width (``txt_in``: three of the encoder's layers side by side — 15360 for Mistral 3 Small, 7680 for Qwen3-4B,
12288 for Qwen3-8B), the MLP ratio (3 in every released model: the fused SwiGLU input has 2 × 3 × width rows),
the 128 input channels (patch size 1: the latent is already 2×2-patchified) and whether a guidance embedder is
there (dev: yes; klein: no). The rotary axes are (32, 32, 32, 32) at 128-wide heads, θ = 2000, as ComfyUI's
model_detection sets them; other head widths split in four equal parts.

Sampling as ComfyUI's Flux2: ModelSamplingFlux with shift 2.02, the network fed σ (diffusers multiplies by
1000); the official templates schedule with Flux2Scheduler instead. The adapter (:class:`Flux2Adapter`) feeds
the model as ComfyUI's ``Flux`` does with Flux.2's parameters: image tokens at (0, row, column, 0), the text
left-padded with zeros to 512 tokens (``model_base.Flux2``) at (0, 0, 0, i), reference latents (ReferenceLatent)
by ComfyUI's methods with Flux.2's default "index" at frame 10, 20 … (``ref_index_scale`` 10), the guidance
(FluxGuidance, default 3.5) when the model embeds it.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from ..state_dict import TensorIndex, block_count
from . import bfl
from .base import Detected, DiffusionFamily, LatentFormat
from .flux2_refs import ACTIVE, REF_ZERO_METHOD, kv_cache_active, run_with_refs

MARKER = "double_stream_modulation_img.lin.weight"
THETA = 2000
TEXT_TOKENS = 512  # ComfyUI's Flux2.extra_conds pads shorter text (with zeros, in front) to this many tokens
INDEX_SCALE = 10.0  # ComfyUI's ref_index_scale: the n-th reference image is frame 10·n
METHODS = ("index", "offset", "uxo")

# ComfyUI's latent_formats.Flux2: previews map the 32 channels of the unpatchified latent to RGB; the 128
# channels here are those 32 in 2×2 patches (channel c·4 + k), so each row is one of the 32 over four
FLUX2_RGB = (
    (0.0058, 0.0113, 0.0073), (0.0495, 0.0443, 0.0836), (-0.0099, 0.0096, 0.0644), (0.2144, 0.3009, 0.3652),
    (0.0166, -0.0039, -0.0054), (0.0157, 0.0103, -0.0160), (-0.0398, 0.0902, -0.0235), (-0.0052, 0.0095, 0.0109),
    (-0.3527, -0.2712, -0.1666), (-0.0301, -0.0356, -0.0180), (-0.0107, 0.0078, 0.0013), (0.0746, 0.0090, -0.0941),
    (0.0156, 0.0169, 0.0070), (-0.0034, -0.0040, -0.0114), (0.0032, 0.0181, 0.0080), (-0.0939, -0.0008, 0.0186),
    (0.0018, 0.0043, 0.0104), (0.0284, 0.0056, -0.0127), (-0.0024, -0.0022, -0.0030), (0.1207, -0.0026, 0.0065),
    (0.0128, 0.0101, 0.0142), (0.0137, -0.0072, -0.0007), (0.0095, 0.0092, -0.0059), (0.0000, -0.0077, -0.0049),
    (-0.0465, -0.0204, -0.0312), (0.0095, 0.0012, -0.0066), (0.0290, -0.0034, 0.0025), (0.0220, 0.0169, -0.0048),
    (-0.0332, -0.0457, -0.0468), (-0.0085, 0.0389, 0.0609), (-0.0076, 0.0003, -0.0043), (-0.0111, -0.0460, -0.0614))
# the latent is the VAE's own, normalised by the VAE's batch-norm statistics (``flux2_vae``): no scale or shift
FLUX2_LATENT = LatentFormat(
    128, 1.0, 0.0, downscale=16, rgb_factors=tuple(tuple(v / 4 for v in row) for row in FLUX2_RGB for _ in range(4)),
    rgb_bias=(-0.0329, -0.0718, -0.0851), taesd_decoder="taef2_decoder")


def rope_axes(head_dim: int) -> tuple[int, int, int, int]:
    """Flux.2's rotary axes (32, 32, 32, 32) for 128-wide heads: four equal even parts."""
    if head_dim % 8:
        raise ValueError(f"heads {head_dim} wide have no rotary split like Flux.2's (32, 32, 32, 32)")
    return (head_dim // 4,) * 4


def table(config: dict[str, Any]) -> bfl.Table:
    """Original module name → its diffusers targets (the names of diffusers' Flux.2 single-file converter;
    fused q, k, v split by rows of the width read from the file)."""
    T = bfl.Target
    width = int(config["num_attention_heads"]) * int(config["attention_head_dim"])
    q, k, v = (0, width), (width, 2 * width), (2 * width, 3 * width)
    out: bfl.Table = {"img_in": [T("x_embedder")], "txt_in": [T("context_embedder")],
                      "time_in.in_layer": [T("time_guidance_embed.timestep_embedder.linear_1")],
                      "time_in.out_layer": [T("time_guidance_embed.timestep_embedder.linear_2")],
                      "double_stream_modulation_img.lin": [T("double_stream_modulation_img.linear")],
                      "double_stream_modulation_txt.lin": [T("double_stream_modulation_txt.linear")],
                      "single_stream_modulation.lin": [T("single_stream_modulation.linear")],
                      "final_layer.linear": [T("proj_out")],
                      "final_layer.adaLN_modulation.1": [T("norm_out.linear", swap=True)]}
    if config.get("guidance_embeds"):
        out["guidance_in.in_layer"] = [T("time_guidance_embed.guidance_embedder.linear_1")]
        out["guidance_in.out_layer"] = [T("time_guidance_embed.guidance_embedder.linear_2")]
    for i in range(int(config["num_layers"])):
        src, dst = f"double_blocks.{i}.", f"transformer_blocks.{i}."
        out[src + "img_attn.qkv"] = [T(dst + "attn.to_q", q), T(dst + "attn.to_k", k), T(dst + "attn.to_v", v)]
        out[src + "txt_attn.qkv"] = [T(dst + "attn.add_q_proj", q), T(dst + "attn.add_k_proj", k),
                                     T(dst + "attn.add_v_proj", v)]
        for name, target in (("img_attn.norm.query_norm", "attn.norm_q"), ("img_attn.norm.key_norm", "attn.norm_k"),
                             ("txt_attn.norm.query_norm", "attn.norm_added_q"),
                             ("txt_attn.norm.key_norm", "attn.norm_added_k"),
                             ("img_attn.proj", "attn.to_out.0"), ("txt_attn.proj", "attn.to_add_out"),
                             ("img_mlp.0", "ff.linear_in"), ("img_mlp.2", "ff.linear_out"),
                             ("txt_mlp.0", "ff_context.linear_in"), ("txt_mlp.2", "ff_context.linear_out")):
            out[src + name] = [T(dst + target)]
    for i in range(int(config["num_single_layers"])):
        src, dst = f"single_blocks.{i}.", f"single_transformer_blocks.{i}."
        for name, target in (("linear1", "attn.to_qkv_mlp_proj"), ("linear2", "attn.to_out"),
                             ("norm.query_norm", "attn.norm_q"), ("norm.key_norm", "attn.norm_k")):
            out[src + name] = [T(dst + target)]
    return out


class Flux2(DiffusionFamily):
    name = "flux2"
    latent = FLUX2_LATENT
    # ComfyUI's slots: Mistral 3 Small 24B (dev), Qwen3-4B (klein 4B), Qwen3-8B (klein 9B)
    text_encoders: ClassVar[tuple[str, ...]] = ("mistral3_24b", "qwen3_4b", "qwen3_8b")
    vae = "flux2"

    def detect(self, index: TensorIndex) -> Detected | None:
        prefix = index.prefix_of(MARKER)
        if prefix is None:
            return None

        def shape(key: str) -> tuple[int, ...]:
            found = index.shape(prefix + key)
            if found is None:
                raise KeyError(key)
            return found

        keys = {k[len(prefix):]: None for k in index if k.startswith(prefix)}
        width, in_channels = shape("img_in.weight")
        head_dim = shape("double_blocks.0.img_attn.norm.query_norm.scale")[0]
        if width % head_dim:
            raise ValueError(f"width {width} does not divide into heads {head_dim} wide")
        mlp_rows = shape("double_blocks.0.img_mlp.0.weight")[0]
        ratio = mlp_rows / (2 * width)
        if 2 * int(width * ratio) != mlp_rows:
            raise ValueError(f"an MLP input of {mlp_rows} rows is not a SwiGLU of a whole multiple of width {width}")
        guidance = "guidance_in.in_layer.weight" in keys
        config = {"patch_size": 1, "in_channels": in_channels, "out_channels": shape("final_layer.linear.weight")[0],
                  "num_layers": block_count(keys, "double_blocks."),
                  "num_single_layers": block_count(keys, "single_blocks."), "attention_head_dim": head_dim,
                  "num_attention_heads": width // head_dim, "joint_attention_dim": shape("txt_in.weight")[1],
                  "mlp_ratio": ratio, "axes_dims_rope": rope_axes(head_dim), "rope_theta": THETA,
                  "guidance_embeds": guidance}
        variant = "dev" if guidance else "klein"
        return Detected(self, config, prefix, variant)

    def build(self, tensors: dict[str, torch.Tensor], detected: Detected, dtype: torch.dtype) -> torch.nn.Module:
        from diffusers import Flux2Transformer2DModel

        from ..scaled_fp8 import split_scales
        from ..weights import apply_scales, assemble

        weights, scales = split_scales(tensors, detected.source)
        mapping = table(detected.config)
        state = bfl.to_diffusers(weights, mapping, detected.source)
        model = assemble(Flux2Transformer2DModel, detected.config, state, dtype, "transformer", detected.source)
        if scales:
            apply_scales(model, bfl.scales_to_diffusers(scales, mapping))
        return model  # type: ignore[no-any-return]

    def model_sampling(self, detected: Detected) -> Any:
        from .. import model_sampling as ms

        return ms.combine(ms.ModelSamplingFlux, ms.CONST, shift=2.02)

    def adapter(self, detected: Detected) -> Any:
        return Flux2Adapter()

    def lora_names(self, detected: Detected, module: torch.nn.Module) -> dict[str, Any] | None:
        return bfl.lora_names(table(detected.config))


def pack(x: torch.Tensor) -> torch.Tensor:
    """[B, C, H, W] → [B, H·W, C] (patch size 1)."""
    return x.flatten(2).transpose(1, 2)


def image_ids(h: int, w: int, index: float = 0.0, h_offset: int = 0, w_offset: int = 0) -> torch.Tensor:
    """Position ids [h·w, 4] of a latent h×w: (index, row, column, 0), rows and columns from the offsets, as
    ComfyUI's process_img with patch size 1."""
    ids = torch.zeros(h, w, 4)
    ids[..., 0] = index
    ids[..., 1] = torch.arange(h, dtype=torch.float32)[:, None] + h_offset
    ids[..., 2] = torch.arange(w, dtype=torch.float32)[None, :] + w_offset
    return ids.reshape(h * w, 4)


def text_ids(tokens: int) -> torch.Tensor:
    """(0, 0, 0, i) for text token i (ComfyUI's ``txt_ids_dims`` [3])."""
    ids = torch.zeros(tokens, 4)
    ids[:, 3] = torch.arange(tokens, dtype=torch.float32)
    return ids


def reference_ids(refs: list[torch.Tensor], h: int, w: int, method: str = "index") -> list[torch.Tensor]:
    """The position ids of each reference latent under ComfyUI's methods: "index" (frame 10, 20 …, Flux.2's
    default), "offset" (frame 1, tiled beside or below the earlier references, Kontext's) or "uxo" (frame 0,
    past the generated image)."""
    out = []
    h_used = w_used = 0
    index = 0.0
    for ref in refs:
        rh, rw = ref.shape[-2], ref.shape[-1]
        h_offset = w_offset = 0
        if method == "uxo":
            index = 0.0
            h_offset, w_offset = h + h_used, w + w_used
            h_used += rh
            w_used += rw
        elif method == "offset":
            index = 1.0
            if rh + h_used > rw + w_used:
                w_offset = w_used
            else:
                h_offset = h_used
            h_used = max(h_used, rh + h_offset)
            w_used = max(w_used, rw + w_offset)
        else:
            index += INDEX_SCALE
        out.append(image_ids(rh, rw, index, h_offset, w_offset))
    return out


def pad_text(context: torch.Tensor, length: int = TEXT_TOKENS) -> torch.Tensor:
    """Text states shorter than ``length`` tokens, zeros in front (ComfyUI's Flux2.extra_conds)."""
    if context.shape[1] >= length:
        return context
    return torch.nn.functional.pad(context, (0, 0, length - context.shape[1], 0))


class Flux2Adapter:
    """Feeds a diffusers Flux2Transformer2DModel (see ``conds.ModelAdapter``).

    Per entry: the text states left-padded to 512 tokens; the guidance (default 3.5) when the model embeds it;
    the reference latents as tokens with their ids; with ComfyUI's "index_timestep_zero" method (chosen, or
    the default under FluxKVCache) they are modulated at t = 0 (``flux2_refs``). The prompt's attention mask
    is not given to the model, as in ComfyUI.
    """

    spatial_keys: frozenset[str] = frozenset()
    supported_patches: frozenset[str] = frozenset({"flux_kv_cache"})
    default_guidance = 3.5

    def encode(self, module: Any, embedding: torch.Tensor, options: dict[str, Any], ctx: Any
               ) -> dict[str, torch.Tensor]:
        device, dtype = ctx.device, ctx.dtype
        out = {"context": pad_text(embedding).to(device, dtype)}
        if module.config.get("guidance_embeds"):
            out["guidance"] = torch.tensor([float(options.get("guidance", self.default_guidance))], device=device,
                                           dtype=torch.float32)
        refs = options.get("reference_latents")
        if refs:
            h, w = ctx.latent_shape[-2], ctx.latent_shape[-1]
            chosen = options.get("reference_latents_method")
            method = str(chosen) if chosen in METHODS else "index"
            tokens = [pack(FLUX2_LATENT.process_in(ref.float())[:1]) for ref in refs]
            ids = reference_ids(list(refs), h, w, method)
            out["ref_tokens"] = torch.cat(tokens, dim=1).to(device, dtype)
            out["ref_ids"] = torch.cat(ids, dim=0)[None].to(device)
            # 1: modulated at t = 0 (chosen), -1: the MODEL's default (FluxKVCache makes it t = 0), 0: not
            zero = 1.0 if chosen == REF_ZERO_METHOD else -1.0 if chosen is None else 0.0
            out["ref_zero"] = torch.tensor([[zero]])
        return out

    def apply(self, module: Any, x_in: torch.Tensor, timestep: torch.Tensor,
              conds: dict[str, torch.Tensor]) -> torch.Tensor:
        b, channels, h, w = x_in.shape
        tokens = pack(x_in)
        ids = image_ids(h, w).to(x_in.device)
        context = conds["context"]
        kwargs: dict[str, Any] = {"encoder_hidden_states": context, "timestep": timestep.to(tokens.dtype),
                                  "txt_ids": text_ids(context.shape[1]).to(x_in.device)}
        if "guidance" in conds:
            kwargs["guidance"] = conds["guidance"].reshape(-1)
        kv_state = ACTIVE.get()
        if "ref_tokens" in conds:
            zero = float(conds["ref_zero"].reshape(-1)[0]) if "ref_zero" in conds else 0.0
            if zero > 0 or (zero < 0 and kv_state is not None):
                output = run_with_refs(module, tokens, ids, conds["ref_tokens"], conds["ref_ids"][0], kwargs,
                                       kv_state)
                return output.transpose(1, 2).reshape(b, -1, h, w)[:, :channels]
            tokens = torch.cat([tokens, conds["ref_tokens"].to(tokens.dtype)], dim=1)
            ids = torch.cat([ids, conds["ref_ids"][0]], dim=0)
        output = module(hidden_states=tokens, img_ids=ids, return_dict=False, **kwargs)[0]
        return output[:, : h * w].transpose(1, 2).reshape(b, -1, h, w)[:, :channels]

    def patched(self, module: Any, transformer_options: dict[str, Any]) -> Any:
        """The call's FluxKVCache state (the only patch Flux.2 runs), for :meth:`apply`."""
        return kv_cache_active(transformer_options)
