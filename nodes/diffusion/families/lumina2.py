"""Lumina 2 (Lumina-Image-2.0, Neta Lumina, NetaYume) in its original single-file layout (``layers.N.attention.qkv``,
``cap_embedder``, ``t_embedder``, with or without ``model.diffusion_model.``), as diffusers'
Lumina2Transformer2DModel; and what Z-Image (``families/z_image.py``), built on the same NextDiT, shares.

The architecture is read from the tensors: width and caption width (the caption embedder), depth and
refiner depth, head width (the q-norm), heads and key/value heads (the fused q, k, v rows), input and
output channels (the 2×2 patch embedding and the final layer), the MLP width. The rotary axes are Lumina
2's thirds of the head width (32, 32, 32 at 96). diffusers' converter renames the keys; the fused q, k, v
are split here first, by the rows the architecture gives (the converter assumes the full-size widths).

Sampling as ComfyUI: discrete flow with shift 6 (ModelSamplingAuraFlow's), the network fed t = 1 − σ and
its output negated (NextDiT predicts data − noise); latents are Flux's 16 channels. The conditioning is
Gemma 2's states with their attention mask.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import torch

from ..state_dict import TensorIndex, block_count
from .base import Detected, DiffusionFamily, LatentFormat
from .flux import FLUX_LATENT, pad_to_patch

MARKER = "cap_embedder.1.weight"
PATCH = 2
CAPTION_POSITIONS = 4096  # rotary table rows for caption positions (ComfyUI computes them without a bound)


def shape_reader(index: TensorIndex, prefix: str) -> Callable[[str], tuple[int, ...]]:
    def shape(key: str) -> tuple[int, ...]:
        found = index.shape(prefix + key)
        if found is None:
            raise KeyError(key)
        return found

    return shape


def read_nextdit(index: TensorIndex, prefix: str) -> dict[str, Any]:
    """What Lumina 2 and Z-Image share, in neutral names: width, caption width, depths, heads, channels."""
    shape = shape_reader(index, prefix)
    keys = {k[len(prefix):]: None for k in index if k.startswith(prefix)}
    width, caption = shape(MARKER)
    head_dim = shape("layers.0.attention.q_norm.weight")[0]
    qkv = shape("layers.0.attention.qkv.weight")[0]
    if width % head_dim or (qkv - width) % (2 * head_dim):
        raise ValueError(f"q, k, v of {qkv} rows do not divide into heads {head_dim} wide at width {width}")
    in_channels = shape("x_embedder.weight")[1] // (PATCH * PATCH)
    return {"width": width, "caption": caption, "head_dim": head_dim, "heads": width // head_dim,
            "kv_heads": (qkv - width) // (2 * head_dim), "layers": block_count(keys, "layers."),
            "refiners": block_count(keys, "noise_refiner."), "in_channels": in_channels,
            "out_channels": shape("final_layer.linear.weight")[0] // (PATCH * PATCH),
            "mlp": shape("layers.0.feed_forward.w1.weight")[0]}


def split_qkv(state: dict[str, torch.Tensor], width: int, kv_width: int) -> dict[str, torch.Tensor]:
    """Fused ``attention.qkv`` weights → ``attention.to_q``/``to_k``/``to_v`` (q ``width`` rows, k and v
    ``kv_width`` each); other keys unchanged."""
    out: dict[str, torch.Tensor] = {}
    for key, tensor in state.items():
        if key.endswith(".attention.qkv.weight"):
            stem = key[: -len("qkv.weight")]
            q, k, v = torch.split(tensor, [width, kv_width, kv_width], dim=0)
            out[stem + "to_q.weight"], out[stem + "to_k.weight"], out[stem + "to_v.weight"] = q, k, v
        else:
            out[key] = tensor
    return out


def original_modules(config: dict[str, Any], modulation: str) -> list[str]:
    """The linear modules of the original layout (fused q, k, v as ``attention.qkv``)."""
    names = ["x_embedder", "final_layer.linear", "final_layer.adaLN_modulation.1", "t_embedder.mlp.0",
             "t_embedder.mlp.2", "cap_embedder.1"]
    for group, count in (("layers", config["layers"]), ("noise_refiner", config["refiners"]),
                         ("context_refiner", config["refiners"])):
        for i in range(count):
            stem = f"{group}.{i}."
            names += [stem + n for n in ("attention.qkv", "attention.out", "feed_forward.w1", "feed_forward.w2",
                                         "feed_forward.w3")]
            if group != "context_refiner":
                names.append(stem + modulation)
    return names


Targets = list[tuple[str, tuple[int, int] | None]]


def module_table(config: dict[str, Any], modulation: str, convert: Callable[[dict[str, Any]], dict[str, Any]]
                 ) -> dict[str, Targets]:
    """Original linear module → the diffusers modules (and rows of the fused q, k, v) it becomes, found by
    running the family's converter over the names."""
    width, kv = config["width"], config["kv_heads"] * config["head_dim"]
    rows = {"to_q": (0, width), "to_k": (width, width + kv), "to_v": (width + kv, width + 2 * kv)}
    table: dict[str, Targets] = {}
    for module in original_modules(config, modulation):
        parts = [module] if not module.endswith("attention.qkv") else [module[:-3] + p for p in rows]
        for part in parts:
            renamed = convert({part + ".weight": part})
            (target,) = renamed
            table.setdefault(module, []).append((target[: -len(".weight")], rows.get(part.rsplit(".", 1)[-1])))
    return table


def scales_by_module(scales: dict[str, torch.Tensor], table: dict[str, Targets]) -> dict[str, torch.Tensor]:
    """Scaled-fp8 scales of the original modules → of the diffusers modules (a fused layer's scale serves
    each part)."""
    return {target: scale for module, scale in scales.items() for target, _ in table.get(module, [])}


class NextDiTFamily(DiffusionFamily):
    """What Lumina 2 and Z-Image share: detection by the caption embedder, building through a diffusers
    converter, Flux's latents and VAE, the adapter's time and sign conventions."""

    latent: ClassVar[LatentFormat] = FLUX_LATENT
    vae: ClassVar[str] = "flux"
    modulation: ClassVar[str]  # the name of a block's modulation layer in the original layout
    shift: ClassVar[float]

    def _prefix(self, index: TensorIndex) -> str | None:
        prefix = index.prefix_of(MARKER)
        if prefix is None or prefix + "layers.0.attention.qkv.weight" not in index:
            return None
        z_image = prefix + "x_pad_token" in index or prefix + "layers.0.adaLN_modulation.0.weight" in index
        return prefix if z_image == (self.modulation == "adaLN_modulation.0") else None

    def converter(self) -> Callable[[dict[str, Any]], dict[str, Any]]:
        raise NotImplementedError

    def diffusers_class(self) -> Any:
        raise NotImplementedError

    def build(self, tensors: dict[str, torch.Tensor], detected: Detected, dtype: torch.dtype) -> torch.nn.Module:
        from ..scaled_fp8 import split_scales
        from ..weights import apply_scales, assemble

        weights, scales = split_scales(tensors, detected.source)
        config = detected.extra["shapes"]
        state = split_qkv(dict(weights), config["width"], config["kv_heads"] * config["head_dim"])
        state = self.converter()(state)
        model = assemble(self.diffusers_class(), detected.config, state, dtype, "transformer", detected.source)
        if scales:
            apply_scales(model, scales_by_module(scales, self.table(detected)))
        return model  # type: ignore[no-any-return]

    def table(self, detected: Detected) -> dict[str, Targets]:
        return module_table(detected.extra["shapes"], self.modulation, self.converter())

    def model_sampling(self, detected: Detected) -> Any:
        from .. import model_sampling as ms

        return ms.combine(ms.ModelSamplingDiscreteFlow, ms.CONST, shift=self.shift, multiplier=1.0)

    def lora_names(self, detected: Detected, module: torch.nn.Module) -> dict[str, Any] | None:
        return {name.replace(".", "_"): targets for name, targets in self.table(detected).items()}


def even_thirds(head_dim: int) -> tuple[int, int, int]:
    """Lumina 2's rotary axes: the head width in three equal even parts (32, 32, 32 at 96)."""
    if head_dim % 6:
        raise ValueError(f"heads {head_dim} wide have no rotary split like Lumina 2's (32, 32, 32)")
    return head_dim // 3, head_dim // 3, head_dim // 3


class Lumina2(NextDiTFamily):
    name: ClassVar[str] = "lumina2"
    text_encoders: ClassVar[tuple[str, ...]] = ("gemma2_2b",)
    modulation = "adaLN_modulation.1"
    shift = 6.0

    def detect(self, index: TensorIndex) -> Detected | None:
        prefix = self._prefix(index)
        if prefix is None:
            return None
        shapes = read_nextdit(index, prefix)
        width, mlp = shapes["width"], shapes["mlp"]
        # diffusers sizes the MLP as multiple_of · ⌈multiplier · 4·width / multiple_of⌉: with multiple_of the
        # MLP width itself, that is exactly the file's width for any multiplier up to 1
        multiplier = None if mlp >= 4 * width else mlp / (4 * width)
        config = {"sample_size": 128, "patch_size": PATCH, "in_channels": shapes["in_channels"],
                  "out_channels": shapes["out_channels"], "hidden_size": width, "num_layers": shapes["layers"],
                  "num_refiner_layers": shapes["refiners"], "num_attention_heads": shapes["heads"],
                  "num_kv_heads": shapes["kv_heads"], "multiple_of": mlp, "ffn_dim_multiplier": multiplier,
                  "norm_eps": 1e-5, "axes_dim_rope": even_thirds(shapes["head_dim"]),
                  "axes_lens": (CAPTION_POSITIONS, 512, 512), "cap_feat_dim": shapes["caption"]}
        return Detected(self, config, prefix, "lumina2", extra={"shapes": shapes})

    def converter(self) -> Callable[[dict[str, Any]], dict[str, Any]]:
        from diffusers.loaders.single_file_utils import convert_lumina2_to_diffusers

        return convert_lumina2_to_diffusers

    def diffusers_class(self) -> Any:
        from diffusers import Lumina2Transformer2DModel

        return Lumina2Transformer2DModel

    def adapter(self, detected: Detected) -> Any:
        return Lumina2Adapter()


class Lumina2Adapter:
    """Feeds a diffusers Lumina2Transformer2DModel (see ``conds.ModelAdapter``): the caption states with
    their attention mask (all ones unless the conditioning says otherwise), t = 1 − σ, the latent padded to
    the patch size and the prediction negated and cropped back, as ComfyUI's NextDiT."""

    spatial_keys: frozenset[str] = frozenset()

    def encode(self, module: Any, embedding: torch.Tensor, options: dict[str, Any], ctx: Any
               ) -> dict[str, torch.Tensor]:
        mask = options.get("attention_mask")
        mask = (torch.ones(embedding.shape[:2], dtype=torch.bool) if mask is None
                else mask.reshape(1, -1)[:, :embedding.shape[1]].bool())
        return {"context": embedding.to(ctx.device, ctx.dtype), "mask": mask.to(ctx.device)}

    def apply(self, module: Any, x_in: torch.Tensor, timestep: torch.Tensor,
              conds: dict[str, torch.Tensor]) -> torch.Tensor:
        h, w = x_in.shape[-2:]
        x = pad_to_patch(x_in, PATCH)
        output: torch.Tensor = module(hidden_states=x, timestep=(1.0 - timestep).to(x.dtype),
                                      encoder_hidden_states=conds["context"], encoder_attention_mask=conds["mask"],
                                      return_dict=False)[0]
        return -output[..., :h, :w]

