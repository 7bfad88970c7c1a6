"""HiDream I1 (full, dev, fast) and E1 in HiDream's own single-file layout (``hidream_i1_dev_bf16.safetensors``,
``hidream_i1_full_fp8.safetensors``, ``hidream_e1_1_bf16.safetensors`` …: ``double_stream_blocks.N.block…``,
``caption_projection.N``, with or without ``model.diffusion_model.``), as diffusers'
HiDreamImageTransformer2DModel, whose module names are the file's.

Told by its per-block caption projections (``caption_projection.0.linear``). Read from the tensors: width
(the patch embedding), patch size (16 latent channels, as ComfyUI fixes them), output channels, double and
single block counts, the caption widths (T5-XXL's for the last projection, Llama's for the others), the
pooled width (CLIP-L + bigG: 2048) and the routed experts of the MoE feed-forwards (two active, as
ComfyUI's). Heads are 128 wide with rotary axes (64, 32, 32), as ComfyUI's model_detection sets them (narrower
test models: two heads, axes in the same proportion). Each block reads one Llama layer: ComfyUI's list (0 … 31,
then 31 for the remaining 16 blocks).

Sampling as ComfyUI's HiDream: discrete flow, shift 1 (the templates set 3 or 6 with ModelSamplingSD3), the
network fed 1000·σ, its output negated; Flux's 16-channel latents and VAE (``ae.safetensors``). The adapter
(:class:`HiDreamAdapter`) feeds T5's states, the pooled CLIP output and Llama's 32 layers
(``conditioning_llama3`` [1, 32, T, 4096]) per entry; HiDream E1's image (InstructPixToPixConditioning's
``concat_latent_image``) goes beside the latent along the width, and only the latent's part comes out.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from ..state_dict import TensorIndex, block_count
from .base import Detected, DiffusionFamily
from .flux import FLUX_LATENT, pad_to_patch

MARKER = "caption_projection.0.linear.weight"
BLOCK = "double_stream_blocks.0.block.adaLN_modulation.1.weight"
LATENT_CHANNELS = 16
HEAD_DIM = 128
ACTIVE_EXPERTS = 2
LLAMA_LAYERS = (*range(32), *([31] * 16))  # ComfyUI's model_detection: the Llama layer each block reads
POOLED = 768 + 1280


def rope_axes(head_dim: int) -> tuple[int, int, int]:
    """HiDream's rotary axes (64, 32, 32) at 128-wide heads; narrower heads in the same proportion."""
    if head_dim % 8:
        raise ValueError(f"heads {head_dim} wide have no rotary split like HiDream's (64, 32, 32)")
    return head_dim // 2, head_dim // 4, head_dim // 4


class HiDream(DiffusionFamily):
    name: ClassVar[str] = "hidream"
    latent = FLUX_LATENT
    text_encoders: ClassVar[tuple[str, ...]] = ("clip_l", "clip_g", "t5xxl", "llama3_8b")
    vae = "flux"

    def detect(self, index: TensorIndex) -> Detected | None:
        prefix = index.prefix_of(MARKER)
        if prefix is None or prefix + BLOCK not in index:
            return None

        def shape(key: str) -> tuple[int, ...]:
            found = index.shape(prefix + key)
            if found is None:
                raise KeyError(key)
            return found

        keys = {k[len(prefix):]: None for k in index if k.startswith(prefix)}
        width, patch_in = shape("x_embedder.proj.weight")
        patch = round((patch_in // LATENT_CHANNELS) ** 0.5)
        if patch * patch * LATENT_CHANNELS != patch_in:
            raise ValueError(f"a patch embedding of {patch_in} inputs is not square patches of 16 channels")
        doubles, singles = block_count(keys, "double_stream_blocks."), block_count(keys, "single_stream_blocks.")
        if doubles + singles > len(LLAMA_LAYERS):
            raise ValueError(f"{doubles + singles} blocks; HiDream reads Llama layers for {len(LLAMA_LAYERS)}")
        head_dim = HEAD_DIM if width % HEAD_DIM == 0 else width // 2
        experts = len({k.split(".")[5] for k in keys if k.startswith("double_stream_blocks.0.block.ff_i.experts.")})
        config = {"patch_size": patch, "in_channels": LATENT_CHANNELS,
                  "out_channels": shape("final_layer.linear.weight")[0] // (patch * patch),
                  "num_layers": doubles, "num_single_layers": singles, "attention_head_dim": head_dim,
                  "num_attention_heads": width // head_dim,
                  "caption_channels": [shape(f"caption_projection.{doubles + singles}.linear.weight")[1],
                                       shape("caption_projection.0.linear.weight")[1]],
                  "text_emb_dim": shape("p_embedder.pooled_embedder.linear_1.weight")[1],
                  "num_routed_experts": experts, "num_activated_experts": min(ACTIVE_EXPERTS, experts),
                  "axes_dims_rope": rope_axes(head_dim), "max_resolution": (128, 128),
                  "llama_layers": list(LLAMA_LAYERS[:doubles + singles])}
        return Detected(self, config, prefix, "i1")

    def build(self, tensors: dict[str, torch.Tensor], detected: Detected, dtype: torch.dtype) -> torch.nn.Module:
        from diffusers import HiDreamImageTransformer2DModel

        from ..scaled_fp8 import split_scales
        from ..weights import apply_scales, assemble

        weights, scales = split_scales(tensors, detected.source)
        model = assemble(HiDreamImageTransformer2DModel, detected.config, dict(weights), dtype, "transformer",
                         detected.source)
        if scales:
            apply_scales(model, scales)
        return model.eval()  # type: ignore[no-any-return]

    def model_sampling(self, detected: Detected) -> Any:
        from .. import model_sampling as ms

        return ms.combine(ms.ModelSamplingDiscreteFlow, ms.CONST, shift=1.0, multiplier=1000)

    def adapter(self, detected: Detected) -> Any:
        return HiDreamAdapter()

    def lora_names(self, detected: Detected, module: torch.nn.Module) -> dict[str, Any] | None:
        """The file's module names are diffusers' (ComfyUI's and peft's LoRA keys match them as they are);
        kohya's flatten them with underscores (``lora_unet_double_stream_blocks_0_block_attn1_to_q``)."""
        return {name.replace(".", "_"): [(name, None)] for name, child in module.named_modules()
                if name and isinstance(getattr(child, "weight", None), torch.Tensor)}


def patchify(x: torch.Tensor, patch: int) -> torch.Tensor:
    """[B, C, H, W] → [B, (H/p)(W/p), p·p·C], patch rows, then columns, then channels (ComfyUI's and
    diffusers' order)."""
    b, c, h, w = x.shape
    x = x.reshape(b, c, h // patch, patch, w // patch, patch).permute(0, 2, 4, 3, 5, 1)
    return x.reshape(b, (h // patch) * (w // patch), patch * patch * c)


def position_ids(rows: int, columns: int) -> torch.Tensor:
    """(0, row, column) per patch."""
    ids = torch.zeros(rows, columns, 3)
    ids[..., 1] = torch.arange(rows, dtype=torch.float32)[:, None]
    ids[..., 2] = torch.arange(columns, dtype=torch.float32)[None, :]
    return ids.reshape(rows * columns, 3)


class HiDreamAdapter:
    """Feeds a diffusers HiDreamImageTransformer2DModel (see ``conds.ModelAdapter``) as ComfyUI's HiDream:
    T5's states as the context, the pooled CLIP output (zeros without one), Llama's layers moved to the front
    as the module indexes them; the latent (and E1's image beside it) padded to the patch size and patchified
    without diffusers' padding to 4096 tokens (ComfyUI pads nothing: an all-ones token mask is the same),
    1000·σ, the output negated and cropped to the latent."""

    spatial_keys: frozenset[str] = frozenset({"image_cond"})

    def encode(self, module: Any, embedding: torch.Tensor, options: dict[str, Any], ctx: Any
               ) -> dict[str, torch.Tensor]:
        device, dtype = ctx.device, ctx.dtype
        pooled = options.get("pooled_output")
        if pooled is None:
            pooled = torch.zeros(1, int(module.config.text_emb_dim))
        llama = options.get("conditioning_llama3")
        if llama is None:  # ComfyUI's stand-in without a Llama encoder: one zero token per layer
            llama = torch.zeros(1, 32, 1, int(module.config.caption_channels[1]))
        out = {"context": embedding.to(device, dtype), "pooled": pooled.to(device, dtype),
               "llama": llama.to(device, dtype)}
        image = options.get("concat_latent_image")
        if image is not None:
            from ...image_utils import common_upscale

            shape = ctx.latent_shape
            if tuple(image.shape[-2:]) != tuple(shape[-2:]):
                image = common_upscale(image.float().cpu(), shape[-1], shape[-2], "bilinear", "center")
            out["image_cond"] = FLUX_LATENT.process_in(image.float()).to(device, dtype)
        return out

    def apply(self, module: Any, x_in: torch.Tensor, timestep: torch.Tensor,
              conds: dict[str, torch.Tensor]) -> torch.Tensor:
        b, _, h, w = x_in.shape
        x = x_in
        if "image_cond" in conds:
            x = torch.cat([x, conds["image_cond"].to(x.dtype)], dim=-1)
        patch = int(module.config.patch_size)
        x = pad_to_patch(x, patch)
        rows, columns = x.shape[-2] // patch, x.shape[-1] // patch
        tokens = patchify(x, patch)
        ids = position_ids(rows, columns).to(x.device)[None].expand(b, -1, -1)
        output = module(hidden_states=tokens, timesteps=timestep.to(x.dtype), encoder_hidden_states_t5=conds["context"],
                        encoder_hidden_states_llama3=conds["llama"].movedim(1, 0), pooled_embeds=conds["pooled"],
                        img_ids=ids, img_sizes=[(rows, columns)] * b,
                        hidden_states_masks=torch.ones(b, rows * columns, device=x.device, dtype=x.dtype),
                        return_dict=False)[0]
        return -output[:, :, :h, :w]
