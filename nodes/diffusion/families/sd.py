"""Stable Diffusion 1.x, 2.x and SDXL (base and refiner): UNets in the original (LDM/SGM) layout.

The architecture is read from the tensors — widths, levels, resnets per level, transformer depth per
level (down and up apart), context and pooled dims, in/out channels, a missing middle block — so
distilled and pruned models (SSD-1B, Segmind Vega, KOALA, BK-SDM) and non-standard widths load. The
shipped configs only supply what shapes cannot show (attention heads, which follow SD's conventions:
8 heads on SD1, 64-wide heads otherwise). diffusers' LDM → diffusers converter renames the keys.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import torch

from ..state_dict import TensorIndex, block_count
from .base import Detected, DiffusionFamily, LatentFormat

if TYPE_CHECKING:
    from ..conds import ModelAdapter

LDM_PREFIX = "model.diffusion_model."
METADATA_KEY = "inkgraph.configs"  # safetensors metadata: {component: diffusers config} written by Inkgraph
V_PRED_PROBE = "output_blocks.11.1.transformer_blocks.0.norm1.bias"
SDXL_CLIP_L = "conditioner.embedders.0.transformer."
# the text encoders of all-in-one files name their family (most specific first)
TEXT_ENCODER_MARKERS = (("conditioner.embedders.", "sdxl"), ("cond_stage_model.model.", "sd2"),
                        ("cond_stage_model.transformer.", "sd1"))

SD_LATENT = LatentFormat(4, 0.18215, rgb_factors=(
    (0.3512, 0.2297, 0.3227), (0.3250, 0.4974, 0.2350), (-0.2829, 0.1762, 0.2721), (-0.2120, -0.2616, -0.7177)),
    taesd_decoder="taesd_decoder")
SDXL_LATENT = LatentFormat(4, 0.13025, rgb_factors=(
    (0.3651, 0.4232, 0.4341), (-0.2533, -0.0042, 0.1068), (0.1076, 0.1111, -0.0362), (-0.3165, -0.2492, -0.2188)),
    rgb_bias=(0.1084, -0.0175, -0.0011), taesd_decoder="taesdxl_decoder")


# kohya's LoRA modules of an SD UNet: every linear layer (and 1×1 projection) of its transformer blocks
UNET_TRAIN_TARGETS = (r".*attentions\.\d+\.(proj_in|proj_out|transformer_blocks\.\d+\.(attn1|attn2)\."
                      r"(to_q|to_k|to_v|to_out\.0)|transformer_blocks\.\d+\.ff\.net\.(0\.proj|2))")


def _load_shipped(name: str) -> dict[str, Any]:
    from ..checkpoint import shipped_configs

    return dict(shipped_configs(name)["unet"])


def read_unet_config(index: TensorIndex, prefix: str, base: dict[str, Any], sd1_heads: bool,
                     control: bool = False) -> dict[str, Any]:
    """A diffusers UNet2DConditionModel config for the LDM-layout UNet under ``prefix``. Attention heads
    cannot be seen in the weights: SD1 has 8 per block (``sd1_heads``), SD2 and SDXL 64-wide ones. A
    ControlNet (``control``) is the UNet's down half: no output blocks, no output convolution."""
    def shape(key: str) -> tuple[int, ...]:
        found = index.shape(prefix + key)
        if found is None:
            raise KeyError(key)
        return found

    model_channels, in_channels = shape("input_blocks.0.0.weight")[:2]
    out_channels = in_channels if control else shape("out.2.weight")[0]
    # each input block after the first is one resnet (+ attention) or one downsampler
    blocks = block_count({k[len(prefix):]: None for k in index if k.startswith(prefix)}, "input_blocks.")
    levels: list[list[int]] = [[]]
    for i in range(1, blocks):
        if index.shape(f"{prefix}input_blocks.{i}.0.op.weight") is not None:
            levels.append([])
        else:
            levels[-1].append(i)
    widths = [shape(f"input_blocks.{level[0]}.0.out_layers.3.weight")[0] for level in levels]
    per_level = {len(level) for level in levels}
    if len(per_level) != 1:
        raise ValueError(f"levels with different resnet counts ({sorted(per_level)}) are not supported")
    layers = per_level.pop()
    down_depth = [_depth(index, f"{prefix}input_blocks.{level[0]}.1.") for level in levels]
    out_blocks = 0 if control else block_count({k[len(prefix):]: None for k in index if k.startswith(prefix)},
                                               "output_blocks.")
    up_depth = []  # in up_blocks order: the deepest level first, as the output blocks run
    for level in range(len(levels)):
        ids = range(level * (layers + 1), min((level + 1) * (layers + 1), out_blocks))
        if control:  # no up blocks: mirror the down blocks (only the config's symmetry needs them)
            up_depth.append([down_depth[-1 - level]] * (layers + 1))
        else:
            up_depth.append([_depth(index, f"{prefix}output_blocks.{i}.1.") for i in ids])
    context_key = next((k for k in index if k.startswith(prefix) and k.endswith("attn2.to_k.weight")), None)
    context_dim = index[context_key].shape[1] if context_key else base.get("cross_attention_dim", 768)
    linear = next((len(index[k].shape) == 2 for k in index if k.startswith(prefix) and k.endswith(".proj_in.weight")),
                  bool(base.get("use_linear_projection", False)))
    config = dict(base)
    config.update(
        in_channels=in_channels, out_channels=out_channels, block_out_channels=widths, layers_per_block=layers,
        down_block_types=["CrossAttnDownBlock2D" if d else "DownBlock2D" for d in down_depth],
        up_block_types=["CrossAttnUpBlock2D" if any(d) else "UpBlock2D" for d in up_depth],
        transformer_layers_per_block=[max(d, 1) for d in down_depth],
        reverse_transformer_layers_per_block=[[max(x, 1) for x in d] for d in up_depth],
        cross_attention_dim=context_dim, use_linear_projection=linear,
        attention_head_dim=8 if sd1_heads else [max(w // 64, 1) for w in widths],
    )
    if index.shape(f"{prefix}middle_block.0.in_layers.2.weight") is None:
        config["mid_block_type"] = None
    else:
        config["mid_block_type"] = "UNetMidBlock2DCrossAttn"
        mid_depth = _depth(index, f"{prefix}middle_block.1.")
        if mid_depth != max(down_depth[-1], 1):  # diffusers gives the middle block the last level's depth
            raise ValueError(f"a middle block {mid_depth} transformer blocks deep after a last level of "
                             f"{down_depth[-1]} is not supported")
    label = index.shape(f"{prefix}label_emb.0.0.weight")
    if label is not None:
        config.update(addition_embed_type="text_time", addition_time_embed_dim=256,
                      projection_class_embeddings_input_dim=label[1])
    else:
        for key in ("addition_embed_type", "addition_time_embed_dim", "projection_class_embeddings_input_dim"):
            config.pop(key, None)
    if config["reverse_transformer_layers_per_block"] == [[d] * (layers + 1) for d in
                                                          reversed(config["transformer_layers_per_block"])]:
        config.pop("reverse_transformer_layers_per_block")  # the usual symmetric UNet
    return config


def _depth(index: TensorIndex, block: str) -> int:
    """Transformer blocks in the attention block at ``block`` (0 when there is none)."""
    pattern = re.compile(re.escape(block) + r"transformer_blocks\.(\d+)\.")
    found = [int(m.group(1)) for key in index if (m := pattern.match(key))]
    return max(found) + 1 if found else 0


class _UNetFamily(DiffusionFamily):
    """What SD1, SD2 and SDXL share: the LDM UNet, its detection and its call."""

    shipped: ClassVar[str]
    vae: ClassVar[str] = "sd"

    def _find_prefix(self, index: TensorIndex) -> str | None:
        prefix = index.prefix_of("input_blocks.0.0.weight")
        if prefix is None or index.shape(prefix + "time_embed.0.weight") is None:
            return None
        return prefix

    def _context_dim(self, index: TensorIndex, prefix: str) -> int | None:
        key = next((k for k in index if k.startswith(prefix) and k.endswith("attn2.to_k.weight")), None)
        return index[key].shape[1] if key else None

    def _kind(self, index: TensorIndex, prefix: str) -> str | None:
        """Which of SD1 / SD2 / SDXL / SDXL refiner this UNet is: from the text encoders an all-in-one file
        carries, else (a UNet alone) from its context and pooled widths."""
        if METADATA_KEY in index.metadata:
            configs = json.loads(index.metadata[METADATA_KEY])
            return str(configs.get("kind", "sdxl" if "text_encoder_2" in configs else "sd1"))
        for marker, kind in TEXT_ENCODER_MARKERS:
            if any(key.startswith(marker) for key in index):
                if kind == "sdxl" and not any(key.startswith(SDXL_CLIP_L) for key in index):
                    return "sdxl_refiner"
                return kind
        context = self._context_dim(index, prefix)
        label = index.shape(f"{prefix}label_emb.0.0.weight")
        if label is not None and context != 1024:
            return "sdxl_refiner" if context == 1280 else "sdxl"
        if context == 1024:  # SD2 (an unCLIP UNet has a class embedding)
            return "sd2"
        if context == 768 or context is None:
            return "sd1"
        return None

    def detect(self, index: TensorIndex) -> Detected | None:
        prefix = self._find_prefix(index)
        if prefix is None or self._kind(index, prefix) != self.name:
            return None
        if METADATA_KEY in index.metadata:
            configs = json.loads(index.metadata[METADATA_KEY])
            config = dict(configs["unet"])
            variant = "v" if configs.get("scheduler", {}).get("prediction_type") == "v_prediction" else ""
            return Detected(self, config, prefix, variant, extra={"configs": configs})
        config = read_unet_config(index, prefix, _load_shipped(self.shipped), sd1_heads=self.name == "sd1")
        return Detected(self, config, prefix)

    def build(self, tensors: dict[str, torch.Tensor], detected: Detected, dtype: torch.dtype) -> torch.nn.Module:
        from diffusers import UNet2DConditionModel
        from diffusers.loaders.single_file_utils import convert_ldm_unet_checkpoint

        from ..weights import assemble

        ldm = {LDM_PREFIX + key: value for key, value in tensors.items()}
        converted = convert_ldm_unet_checkpoint(ldm, detected.config)
        return assemble(UNet2DConditionModel, detected.config, converted, dtype, "UNet", detected.source)

    def model_sampling(self, detected: Detected) -> Any:
        from ..model_sampling import discrete

        return discrete("v_prediction" if detected.variant == "v" else "epsilon")

    def original_names(self, detected: Detected, module: torch.nn.Module) -> dict[str, str]:
        from ..merge import unet_original_names

        return unet_original_names(module)

    def original_state(self, detected: Detected, module: torch.nn.Module) -> dict[str, torch.Tensor]:
        from ..ldm_format import unet_diffusers_to_ldm

        return unet_diffusers_to_ldm(module.state_dict(), module.config, prefix="")

    def adapter(self, detected: Detected) -> ModelAdapter:
        from ..unet import UNetAdapter

        return UNetAdapter(self.latent, detected.extra.get("clip_stats"))

    def train_targets(self, detected: Detected, module: torch.nn.Module) -> str:
        return UNET_TRAIN_TARGETS


class SD1(_UNetFamily):
    name = "sd1"
    shipped = "sd15"
    latent = SD_LATENT
    text_encoders = ("clip_l",)


class SD2(_UNetFamily):
    name = "sd2"
    shipped = "sd21_base512"
    latent = SD_LATENT
    text_encoders = ("clip_h",)

    def detect(self, index: TensorIndex) -> Detected | None:
        found = super().detect(index)
        if found is not None and found.config.get("addition_embed_type") == "text_time":
            # SD2.1 unCLIP: the label embedding takes the noise-augmented image embedding (class embedding)
            config = found.config
            config["class_embed_type"] = "projection"
            for key in ("addition_embed_type", "addition_time_embed_dim"):
                config.pop(key, None)
            found.extra["unclip"] = True
        return found

    def refine(self, detected: Detected, read: Callable[[str], torch.Tensor | None]) -> None:
        if detected.extra.get("unclip"):  # the checkpoint's CLIP statistics scale unCLIP embeddings
            mean, std = read("noise_augmentor.data_mean"), read("noise_augmentor.data_std")
            if mean is not None and std is not None:
                detected.extra["clip_stats"] = (mean.float().reshape(1, -1), std.float().reshape(1, -1))
        # ComfyUI's test: v-prediction SD2 models have a markedly wider spread in this norm's bias.
        if detected.variant or "configs" in detected.extra:
            return
        probe = read(detected.prefix + V_PRED_PROBE)
        if probe is not None and float(probe.float().std()) > 0.09:
            detected.variant = "v"


class SDXL(_UNetFamily):
    name = "sdxl"
    shipped = "sdxl_base"
    latent = SDXL_LATENT
    text_encoders = ("clip_l", "clip_g")


class SDXLRefiner(_UNetFamily):
    name = "sdxl_refiner"
    shipped = "sdxl_base"
    latent = SDXL_LATENT
    text_encoders = ("clip_g",)


FAMILIES: list[DiffusionFamily] = [SDXL(), SDXLRefiner(), SD2(), SD1()]
