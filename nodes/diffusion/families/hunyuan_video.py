"""HunyuanVideo 1.5 (T2V and I2V, 480p and 720p, step-distilled, and the 1080p super-resolution model) from
ComfyUI's files (``hunyuanvideo1.5_720p_t2v_fp16.safetensors``, ``hunyuanvideo1.5_480p_i2v_fp8_scaled``,
``hunyuanvideo1.5_1080p_sr_distilled_fp16`` …, with or without ``model.diffusion_model.``) and Tencent's, as
diffusers' HunyuanVideo15Transformer3DModel.

The architecture is read from the tensors as ComfyUI's model_detection reads it: width (the patch embedding),
128-wide heads, patch sizes, input and output channels, depth, token-refiner depth, the Qwen2.5-VL text width,
the ByT5 mapper's widths, SigLIP's image width (``vision_in``) and whether a MeanFlow ``time_r_in`` embedder is
there (the distilled super-resolution model). The input channels beyond the noise follow ComfyUI's
``HunyuanVideo15.concat_cond``: 32 image-latent channels and a mask (65 in all); the super-resolution model's 98
take HunyuanVideo15SuperResolution's 66 (a start-image latent, a flag, the noised low-resolution latent, ones;
:mod:`.hunyuan_adapter`).

One family, ``hunyuan_video15``: 32 latent channels, 16× down, 4 frames a latent frame, scale 1.03682
(ComfyUI's ``latent_formats.HunyuanVideo15``). Sampling as ComfyUI: discrete flow with shift 7 (2 for the
super-resolution model), the network fed 1000·σ.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from ..state_dict import TensorIndex, block_count
from .base import Detected, DiffusionFamily, LatentFormat

HY15_RGB = ((0.0568, -0.0521, -0.0131), (0.0014, 0.0735, 0.0326), (0.0186, 0.0531, -0.0138),
            (-0.0031, 0.0051, 0.0288), (0.0110, 0.0556, 0.0432), (-0.0041, -0.0023, -0.0485),
            (0.0530, 0.0413, 0.0253), (0.0283, 0.0251, 0.0339), (0.0277, -0.0372, -0.0093),
            (0.0393, 0.0944, 0.1131), (0.0020, 0.0251, 0.0037), (-0.0017, 0.0012, 0.0234),
            (0.0468, 0.0436, 0.0203), (0.0354, 0.0439, -0.0233), (0.0090, 0.0123, 0.0346),
            (0.0382, 0.0029, 0.0217), (0.0261, -0.0300, 0.0030), (-0.0088, -0.0220, -0.0283),
            (-0.0272, -0.0121, -0.0363), (-0.0664, -0.0622, 0.0144), (0.0414, 0.0479, 0.0529),
            (0.0355, 0.0612, -0.0247), (0.0147, 0.0264, 0.0174), (0.0438, 0.0038, 0.0542),
            (0.0431, -0.0573, -0.0033), (-0.0162, -0.0211, -0.0406), (-0.0487, -0.0295, -0.0393),
            (0.0005, -0.0109, 0.0253), (0.0296, 0.0591, 0.0353), (0.0119, 0.0181, -0.0306),
            (-0.0085, -0.0362, 0.0229), (0.0005, -0.0106, 0.0242))
HY15_LATENT = LatentFormat(32, 1.03682, downscale=16, rgb_factors=HY15_RGB, rgb_bias=(0.0456, -0.0202, -0.0644),
                           dims=3, temporal=4)
MARKER = "txt_in.individual_token_refiner.blocks.0.norm1.weight"
HEAD_DIM = 128  # ComfyUI: num_heads = width // 128, rotary axes (16, 56, 56)
ROPE_AXES = (16, 56, 56)
SHIFT, SR_SHIFT = 7.0, 2.0


def read_config(index: TensorIndex, prefix: str) -> dict[str, Any]:
    """A HunyuanVideo15Transformer3DModel config (plus ``byt5_hidden_dim``) from the shapes under ``prefix``."""
    from .hunyuan_layout import canonical

    shapes = {canonical(k[len(prefix):]): index[k].shape for k in index if k.startswith(prefix)}

    def shape(key: str) -> tuple[int, ...]:
        found = shapes.get(key)
        if found is None:
            raise KeyError(key)
        return tuple(found)

    width, in_channels, *patch = shape("img_in.proj.weight")
    if len(patch) != 3 or patch[1] != patch[2]:
        raise ValueError(f"a patch of {patch} is not HunyuanVideo 1.5's 3-D square patch")
    if width % HEAD_DIM:
        raise ValueError(f"a width of {width} is not a multiple of HunyuanVideo's 128-wide heads")
    fc1 = "double_blocks.0.img_mlp.0.weight"
    byt5 = shape("byt5_in.fc1.weight")
    return {
        "in_channels": in_channels,
        "out_channels": shape("final_layer.linear.weight")[0] // (patch[0] * patch[1] * patch[2]),
        "num_attention_heads": width // HEAD_DIM, "attention_head_dim": HEAD_DIM,
        "num_layers": block_count(shapes, "double_blocks."),
        "num_refiner_layers": block_count(shapes, "txt_in.individual_token_refiner.blocks."),
        "mlp_ratio": shape(fc1)[0] / width, "patch_size": patch[1], "patch_size_t": patch[0], "qk_norm": "rms_norm",
        "text_embed_dim": shape("txt_in.input_embedder.weight")[1], "text_embed_2_dim": byt5[1],
        "image_embed_dim": shape("vision_in.proj.0.weight")[0], "rope_theta": 256.0, "rope_axes_dim": ROPE_AXES,
        "use_meanflow": "time_r_in.in_layer.weight" in shapes, "byt5_hidden_dim": byt5[0],
    }


class HunyuanVideo15(DiffusionFamily):
    """HunyuanVideo 1.5 (T2V, I2V, step-distilled, 1080p super-resolution)."""

    name = "hunyuan_video15"
    latent = HY15_LATENT
    text_encoders: ClassVar[tuple[str, ...]] = ("qwen25_7b", "byt5_small")
    vae = "hunyuan_video15"
    # diffusers feeds the time embedders the timestep's dtype: they stay in the compute dtype, out of fp8
    keep_precision = ("time_embed.", "context_embedder.time_text_embed.")

    def detect(self, index: TensorIndex) -> Detected | None:
        prefix = index.prefix_of(MARKER)
        if prefix is None or prefix + "cond_type_embedding.weight" not in index:
            return None  # HunyuanVideo 1.0 / HunyuanImage 2.1 share the token refiner, not the type embedding
        config = read_config(index, prefix)
        variant = "sr_distilled" if config["in_channels"] > 2 * config["out_channels"] + 1 else ""
        return Detected(self, config, prefix, variant)

    def build(self, tensors: dict[str, torch.Tensor], detected: Detected, dtype: torch.dtype) -> torch.nn.Module:
        from ..scaled_fp8 import split_scales
        from ..weights import apply_scales, assemble, unquantize
        from . import bfl, hunyuan_layout
        from .hunyuan_adapter import Transformer, install_processors

        weights, scales = split_scales(hunyuan_layout.to_canonical(tensors), detected.source)
        mapping = hunyuan_layout.table(detected.config)
        state = bfl.to_diffusers(weights, mapping, detected.source)
        model = assemble(Transformer, detected.config, state, dtype, "transformer", detected.source)
        if scales:
            apply_scales(model, bfl.scales_to_diffusers(scales, mapping))
        unquantize(model, self.keep_precision, dtype)
        install_processors(model)
        return model  # type: ignore[no-any-return]

    def model_sampling(self, detected: Detected) -> Any:
        from .. import model_sampling as ms

        shift = SR_SHIFT if detected.variant == "sr_distilled" else SHIFT
        return ms.combine(ms.ModelSamplingDiscreteFlow, ms.CONST, shift=shift, multiplier=1000)

    def adapter(self, detected: Detected) -> Any:
        from .hunyuan_adapter import HunyuanVideo15Adapter

        return HunyuanVideo15Adapter(self.latent, detected.config, detected.variant == "sr_distilled")

    def lora_names(self, detected: Detected, module: torch.nn.Module) -> dict[str, Any] | None:
        from .hunyuan_layout import lora_names, table

        return lora_names(table(detected.config))
