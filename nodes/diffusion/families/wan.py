"""Wan 2.1 and Wan 2.2 video models in the original layout (``wan2.1_t2v_1.3B_fp16.safetensors``,
``wan2.1_i2v_480p_14B_fp16``, ``wan2.2_ti2v_5B_fp16``, ``wan2.2_{t2v,i2v}_{high,low}_noise_14B_fp8_scaled`` …,
with or without ComfyUI's ``model.diffusion_model.`` prefix) as diffusers' WanTransformer3DModel (VACE files
as WanVACETransformer3DModel).

The architecture is read from the tensors: width (the patch embedding), head width 128 as every Wan model
has (ComfyUI reads the heads the same way), depth, MLP width, text width, input and output channels,
the image embedder of the I2V/FLF2V/Fun models (CLIP-H's 1280-wide tokens, FLF2V's position table for two
images), the VACE blocks and the Fun-camera control adapter. What the input channels hold beyond the noise
follows ComfyUI's ``WAN21.concat_cond``: I2V 16 + 4 mask + 16 image, Fun control 16 + 32 control/start latents,
Wan 2.2 TI2V none (the image enters through the noise mask and per-frame timesteps, :mod:`.wan_adapter`).

Two families, as ComfyUI's latent formats: ``wan21`` (16 channels, 8× down, Wan 2.1's VAE — also Wan 2.2's
14B models) and ``wan22`` (48 channels, 16× down, Wan 2.2's VAE — the TI2V 5B model). Sampling as ComfyUI:
discrete flow with shift 8, the network fed 1000·σ.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from ..state_dict import TensorIndex, block_count
from .base import Detected, DiffusionFamily, LatentFormat

WAN21_MEAN = (-0.7571, -0.7089, -0.9113, 0.1075, -0.1745, 0.9653, -0.1517, 1.5508,
              0.4134, -0.0715, 0.5517, -0.3632, -0.1922, -0.9497, 0.2503, -0.2921)
WAN21_STD = (2.8184, 1.4541, 2.3275, 2.6558, 1.2196, 1.7708, 2.6052, 2.0743,
             3.2687, 2.1526, 2.8652, 1.5579, 1.6382, 1.1253, 2.8251, 1.9160)
WAN21_RGB = ((-0.1299, -0.1692, 0.2932), (0.0671, 0.0406, 0.0442), (0.3568, 0.2548, 0.1747),
             (0.0372, 0.2344, 0.1420), (0.0313, 0.0189, -0.0328), (0.0296, -0.0956, -0.0665),
             (-0.3477, -0.4059, -0.2925), (0.0166, 0.1902, 0.1975), (-0.0412, 0.0267, -0.1364),
             (-0.1293, 0.0740, 0.1636), (0.0680, 0.3019, 0.1128), (0.0032, 0.0581, 0.0639),
             (-0.1251, 0.0927, 0.1699), (0.0060, -0.0633, 0.0005), (0.3477, 0.2275, 0.2950),
             (0.1984, 0.0913, 0.1861))
WAN22_MEAN = (-0.2289, -0.0052, -0.1323, -0.2339, -0.2799, 0.0174, 0.1838, 0.1557, -0.1382, 0.0542, 0.2813,
              0.0891, 0.1570, -0.0098, 0.0375, -0.1825, -0.2246, -0.1207, -0.0698, 0.5109, 0.2665, -0.2108,
              -0.2158, 0.2502, -0.2055, -0.0322, 0.1109, 0.1567, -0.0729, 0.0899, -0.2799, -0.1230, -0.0313,
              -0.1649, 0.0117, 0.0723, -0.2839, -0.2083, -0.0520, 0.3748, 0.0152, 0.1957, 0.1433, -0.2944,
              0.3573, -0.0548, -0.1681, -0.0667)
WAN22_STD = (0.4765, 1.0364, 0.4514, 1.1677, 0.5313, 0.4990, 0.4818, 0.5013, 0.8158, 1.0344, 0.5894, 1.0901,
             0.6885, 0.6165, 0.8454, 0.4978, 0.5759, 0.3523, 0.7135, 0.6804, 0.5833, 1.4146, 0.8986, 0.5659,
             0.7069, 0.5338, 0.4889, 0.4917, 0.4069, 0.4999, 0.6866, 0.4093, 0.5709, 0.6065, 0.6415, 0.4944,
             0.5726, 1.2042, 0.5458, 1.6887, 0.3971, 1.0600, 0.3943, 0.5537, 0.5444, 0.4089, 0.7468, 0.7744)
WAN22_RGB = ((0.0119, 0.0103, 0.0046), (-0.1062, -0.0504, 0.0165), (0.0140, 0.0409, 0.0491),
             (-0.0813, -0.0677, 0.0607), (0.0656, 0.0851, 0.0808), (0.0264, 0.0463, 0.0912),
             (0.0295, 0.0326, 0.0590), (-0.0244, -0.0270, 0.0025), (0.0443, -0.0102, 0.0288),
             (-0.0465, -0.0090, -0.0205), (0.0359, 0.0236, 0.0082), (-0.0776, 0.0854, 0.1048),
             (0.0564, 0.0264, 0.0561), (0.0006, 0.0594, 0.0418), (-0.0319, -0.0542, -0.0637),
             (-0.0268, 0.0024, 0.0260), (0.0539, 0.0265, 0.0358), (-0.0359, -0.0312, -0.0287),
             (-0.0285, -0.1032, -0.1237), (0.1041, 0.0537, 0.0622), (-0.0086, -0.0374, -0.0051),
             (0.0390, 0.0670, 0.2863), (0.0069, 0.0144, 0.0082), (0.0006, -0.0167, 0.0079),
             (0.0313, -0.0574, -0.0232), (-0.1454, -0.0902, -0.0481), (0.0714, 0.0827, 0.0447),
             (-0.0304, -0.0574, -0.0196), (0.0401, 0.0384, 0.0204), (-0.0758, -0.0297, -0.0014),
             (0.0568, 0.1307, 0.1372), (-0.0055, -0.0310, -0.0380), (0.0239, -0.0305, 0.0325),
             (-0.0663, -0.0673, -0.0140), (-0.0416, -0.0047, -0.0023), (0.0166, 0.0112, -0.0093),
             (-0.0211, 0.0011, 0.0331), (0.1833, 0.1466, 0.2250), (-0.0368, 0.0370, 0.0295),
             (-0.3441, -0.3543, -0.2008), (-0.0479, -0.0489, -0.0420), (-0.0660, -0.0153, 0.0800),
             (-0.0101, 0.0068, 0.0156), (-0.0690, -0.0452, -0.0927), (-0.0145, 0.0041, 0.0015),
             (0.0421, 0.0451, 0.0373), (0.0504, -0.0483, -0.0356), (-0.0837, 0.0168, 0.0055))

WAN21_LATENT = LatentFormat(16, 1.0, mean=WAN21_MEAN, std=WAN21_STD, rgb_factors=WAN21_RGB,
                            rgb_bias=(-0.1835, -0.0868, -0.3360), dims=3, temporal=4)
WAN22_LATENT = LatentFormat(48, 1.0, downscale=16, mean=WAN22_MEAN, std=WAN22_STD, rgb_factors=WAN22_RGB,
                            rgb_bias=(0.0317, -0.0878, -0.1388), dims=3, temporal=4)
MARKER = "blocks.0.cross_attn.k.weight"
HEAD_DIM = 128  # every Wan model's head width (ComfyUI: num_heads = dim // 128)
SHIFT = 8.0


def read_config(index: TensorIndex, prefix: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(diffusers config, extras: variant facts and the camera adapter's shape) of the model under ``prefix``."""
    def shape(key: str) -> tuple[int, ...]:
        found = index.shape(prefix + key)
        if found is None:
            raise KeyError(key)
        return found

    keys = {k[len(prefix):]: None for k in index if k.startswith(prefix)}
    width, in_channels, *patch = shape("patch_embedding.weight")
    if width % HEAD_DIM:
        raise ValueError(f"a width of {width} is not a multiple of Wan's 128-wide heads")
    config: dict[str, Any] = {
        "patch_size": tuple(patch), "num_attention_heads": width // HEAD_DIM, "attention_head_dim": HEAD_DIM,
        "in_channels": in_channels, "out_channels": shape("head.head.weight")[0] // (patch[0] * patch[1] * patch[2]),
        "text_dim": shape("text_embedding.0.weight")[1], "freq_dim": shape("time_embedding.0.weight")[1],
        "ffn_dim": shape("blocks.0.ffn.0.weight")[0], "num_layers": block_count(keys, "blocks."),
        "cross_attn_norm": "blocks.0.norm3.weight" in keys,
        "qk_norm": "rms_norm_across_heads" if "blocks.0.self_attn.norm_q.weight" in keys else None, "eps": 1e-6,
    }
    extra: dict[str, Any] = {"image_to_video": False}
    if "img_emb.proj.0.weight" in keys:
        config["image_dim"] = shape("img_emb.proj.0.weight")[0]
        config["added_kv_proj_dim"] = width
        extra["image_to_video"] = True
        if "img_emb.emb_pos" in keys:
            config["pos_embed_seq_len"] = shape("img_emb.emb_pos")[1]
    vace = block_count(keys, "vace_blocks.")
    if vace:
        config["vace_layers"] = list(range(0, config["num_layers"], config["num_layers"] // vace))[:vace]
        config["vace_in_channels"] = shape("vace_patch_embedding.weight")[1]
    if "control_adapter.conv.weight" in keys:
        conv = shape("control_adapter.conv.weight")
        extra["camera"] = {"in_channels": conv[1] // 64, "kernel": tuple(conv[2:]),
                           "blocks": block_count(keys, "control_adapter.residual_blocks.")}
        extra["image_to_video"] = True
    if "ref_conv.weight" in keys:  # Wan 2.2 Fun's reference-image embedder
        extra["reference"] = True
    return config, extra


def variant_of(config: dict[str, Any], extra: dict[str, Any]) -> str:
    if "vace_layers" in config:
        return "vace"
    if "camera" in extra:
        return "camera"
    if config.get("pos_embed_seq_len"):
        return "flf2v"
    extra_channels = config["in_channels"] - config["out_channels"]
    if config["out_channels"] == 48:
        return "ti2v"
    if extra_channels in (32, 36):  # Wan 2.1 Fun: control + start latents; Wan 2.2 Fun: the mask between them
        return "fun_control"
    if extra_channels == 20:
        return "i2v"
    return "t2v"


class Wan21(DiffusionFamily):
    """Wan 2.1 (T2V 1.3B/14B, I2V, FLF2V, VACE, Fun control/inpaint/camera) and Wan 2.2's 14B models."""

    name = "wan21"
    latent = WAN21_LATENT
    text_encoders: ClassVar[tuple[str, ...]] = ("umt5xxl",)
    vae = "wan21"
    wan22 = False
    # diffusers casts the timestep to the time embedder's weight dtype: it stays in the compute dtype
    keep_precision = ("condition_embedder.time_embedder",)

    def detect(self, index: TensorIndex) -> Detected | None:
        prefix = index.prefix_of(MARKER)
        if prefix is None or prefix + "head.modulation" not in index or prefix + "patch_embedding.weight" not in index:
            return None
        config, extra = read_config(index, prefix)
        if (config["out_channels"] == 48) != self.wan22:
            return None
        return Detected(self, config, prefix, variant_of(config, extra), extra=extra)

    def build(self, tensors: dict[str, torch.Tensor], detected: Detected, dtype: torch.dtype) -> torch.nn.Module:
        from ..scaled_fp8 import split_scales
        from ..weights import apply_scales, assemble, unquantize
        from . import wan_layout
        from .wan_adapter import install_camera, install_image_embedding

        camera = {k[len("control_adapter."):]: v for k, v in tensors.items() if k.startswith("control_adapter.")}
        reference = {k: v for k, v in tensors.items() if k.startswith("ref_conv.")}
        rest = {k: v for k, v in tensors.items() if not k.startswith(("control_adapter.", "ref_conv."))}
        converted = wan_layout.to_diffusers(rest)
        weights, scales = split_scales(converted, detected.source)
        config = dict(detected.config)
        if "vace_layers" in config:
            from diffusers import WanVACETransformer3DModel as cls
        else:
            from diffusers import WanTransformer3DModel as cls
        model = assemble(cls, config, weights, dtype, "transformer", detected.source)
        if scales:
            apply_scales(model, scales)
        unquantize(model, self.keep_precision, dtype)
        if config.get("pos_embed_seq_len"):
            install_image_embedding(model)
        if "camera" in detected.extra:
            install_camera(model, camera, detected.extra["camera"], dtype, detected.source)
        if detected.extra.get("reference"):
            from .wan_reference import install_reference

            install_reference(model, reference, dtype, detected.source)
        return model  # type: ignore[no-any-return]

    def model_sampling(self, detected: Detected) -> Any:
        from .. import model_sampling as ms

        return ms.combine(ms.ModelSamplingDiscreteFlow, ms.CONST, shift=SHIFT, multiplier=1000)

    def adapter(self, detected: Detected) -> Any:
        from .wan_adapter import WanAdapter

        return WanAdapter(self.latent, bool(detected.extra.get("image_to_video")), self.wan22, detected.config)

    def lora_names(self, detected: Detected, module: torch.nn.Module) -> dict[str, Any] | None:
        from .wan_layout import lora_names

        return lora_names(module)


class Wan22(Wan21):
    """Wan 2.2 TI2V 5B: 48 latent channels of Wan 2.2's VAE (16× down); image-to-video through the noise
    mask, with each frame's timestep scaled by how much of it is to be denoised."""

    name = "wan22"
    latent = WAN22_LATENT
    vae = "wan22"
    wan22 = True
