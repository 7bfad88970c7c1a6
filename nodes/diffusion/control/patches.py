"""MODEL_PATCH files (ComfyUI's ModelPatchLoader, ``models/model_patches``) that steer a model from inside its
blocks rather than as a separate ControlNet beside it:

- DiffSynth's Qwen-Image "blockwise" ControlNets (``qwen_image_{canny,depth,inpaint}_diffsynth_controlnet``):
  an input projection of the hint's packed latent and one small block per Qwen-Image block — RMS-normed image
  tokens and hint tokens summed, projected, GELU, projected — whose output, times the strength, is added to the
  block's image tokens (:class:`QwenBlockwise`, :class:`DiffSynthPatch`). diffusers has no class for it; the
  module is written here (two linear layers and two RMS norms a block).
- alibaba-pai's Z-Image Turbo Fun ControlNet Union (1.0, 2.0, 2.1), as diffusers' ZImageControlNetModel: control
  blocks beside some of the main model's layers (and its noise refiner), fed the main model's embeddings
  (``ZImageControlNetModel.from_transformer``) and the hint VAE-encoded in the Flux VAE's latent format; it
  returns residuals keyed by the main layer they are added to (:class:`ZImageFunPatch`).

The patches sit in the MODEL's ``transformer_options["patches"]`` (``double_block``, and ``noise_refiner`` for
Z-Image) as ComfyUI puts them; the Qwen-Image and Z-Image families' adapters run them.
"""

from __future__ import annotations

from collections.abc import Hashable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..families.base import LatentFormat
from ..families.flux import FLUX_LATENT, pack, pad_to_patch
from ..state_dict import ModelFileError, TensorIndex, block_count, describe

SHARED = ("t_scale", "t_embedder", "all_x_embedder", "cap_embedder", "rope_embedder", "noise_refiner",
          "context_refiner", "x_pad_token", "cap_pad_token")  # what ZImageControlNetModel borrows from the main model
Z_IMAGE_LAYERS = 30  # the main model's layers the Z-Image Fun control blocks are spread over (ComfyUI's rule)


class BlockwiseBlock(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.x_rms = nn.RMSNorm(dim, eps=1e-6)
        self.y_rms = nn.RMSNorm(dim, eps=1e-6)
        self.input_proj = nn.Linear(dim, dim)
        self.output_proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.output_proj(nn.functional.gelu(self.input_proj(self.x_rms(x) + self.y_rms(y))))


class QwenBlockwise(nn.Module):
    """DiffSynth's blockwise ControlNet for Qwen-Image."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.config = config
        dim, layers = int(config["dim"]), int(config["num_layers"])
        self.additional_in_dim = int(config["additional_in_dim"])
        self.img_in = nn.Linear(int(config["in_dim"]) + self.additional_in_dim, dim)
        self.controlnet_blocks = nn.ModuleList(BlockwiseBlock(dim) for _ in range(layers))

    def embed(self, latent: torch.Tensor) -> torch.Tensor:
        """The hint latent (already in the model's latent format, mask channels after it) as tokens."""
        return self.img_in(pack(pad_to_patch(latent)))

    def block(self, index: int, img: torch.Tensor, hint: torch.Tensor) -> torch.Tensor:
        return self.controlnet_blocks[index](img, hint)  # type: ignore[no-any-return]


@dataclass
class PatchDetected:
    name: str  # "qwen_blockwise", "zimage_fun"
    config: dict[str, Any]
    source: str = ""
    variant: str = ""


def detect(index: TensorIndex, name: str = "") -> PatchDetected:
    if "controlnet_blocks.0.y_rms.weight" in index:
        dim, in_dim = index["img_in.weight"].shape
        config = {"dim": dim, "num_layers": block_count(dict.fromkeys(index), "controlnet_blocks."), "in_dim": 64,
                  "additional_in_dim": in_dim - 64}
        return PatchDetected("qwen_blockwise", config, name, "inpaint" if in_dim > 64 else "")
    if "control_all_x_embedder.2-1.weight" in index:
        return PatchDetected("zimage_fun", zimage_config(index), name)
    raise ModelFileError(f"{name or 'the file'} holds no model patch Inkgraph knows ({describe(index)}); known: "
                         "DiffSynth Qwen-Image blockwise ControlNets, Z-Image Fun ControlNet Union")


def zimage_config(index: TensorIndex) -> dict[str, Any]:
    """A ZImageControlNetModel config from the Fun ControlNet's shapes (places by ComfyUI's rule: the control
    blocks evenly over the main model's 30 layers; 2.x files also steer its two noise-refiner layers)."""
    keys = dict.fromkeys(index)
    dim, patch_in = index["control_all_x_embedder.2-1.weight"].shape
    head = index["control_layers.0.attention.norm_q.weight"].shape[0]
    layers = block_count(keys, "control_layers.")
    step = round(Z_IMAGE_LAYERS / layers)
    refiner = block_count(keys, "control_noise_refiner.")
    config: dict[str, Any] = {
        "control_layers_places": [i * step for i in range(layers)], "control_in_dim": patch_in // 4,
        "all_patch_size": (2,), "all_f_patch_size": (1,), "dim": dim, "n_refiner_layers": refiner or 2,
        "n_heads": dim // head, "n_kv_heads": index["control_layers.0.attention.to_k.weight"].shape[0] // head,
        "norm_eps": 1e-5, "qk_norm": True, "add_control_noise_refiner": None,
        "control_refiner_layers_places": None}
    if layers >= 15:  # the 2.x files: the refiner steered, by its own blocks (2.1) or the first control ones (2.0)
        config["control_refiner_layers_places"] = list(range(refiner or 2))
        config["add_control_noise_refiner"] = ("control_noise_refiner"
                                               if "control_noise_refiner.0.before_proj.weight" in index
                                               else "control_layers")
    return config


def build(tensors: dict[str, torch.Tensor], detected: PatchDetected, dtype: torch.dtype) -> nn.Module:
    from ..weights import assemble

    if detected.name == "qwen_blockwise":
        return assemble(QwenBlockwise, detected.config, tensors, dtype, "blockwise ControlNet", detected.source)
    from diffusers import ZImageControlNetModel

    config = detected.config
    if config["add_control_noise_refiner"] == "control_noise_refiner":
        before = tensors.get("control_noise_refiner.0.before_proj.weight")
        if before is not None and not bool(before.any()):  # 2.0 ships a refiner of zeros: its control layers steer
            config = {**config, "add_control_noise_refiner": "control_layers"}
            detected.config, detected.variant = config, "2.0"
    if config["add_control_noise_refiner"] == "control_layers":
        tensors = {k: v for k, v in tensors.items() if not k.startswith("control_noise_refiner.")}
    return assemble(ZImageControlNetModel, config, tensors, dtype, "Z-Image Fun ControlNet", detected.source)


@dataclass(frozen=True)
class ModelPatch:
    """MODEL_PATCH: a loaded model patch (weights in the model manager under ``key``)."""

    manager: Any = field(repr=False, compare=False)
    key: Hashable
    detected: PatchDetected = field(compare=False)

    def cache_nbytes(self) -> int:
        return 64

    @contextmanager
    def use(self) -> Any:
        with self.manager.use(self.key) as (net,):
            yield net


def load(manager: Any, path: Any) -> ModelPatch:
    from inkgraph.engine.core.devices import torch_dtype

    from ..state_dict import compute_cast, index_file, read_state_dict

    detected = detect(index_file(path), path.name)
    dtype_name = manager.policy.dtype
    key = ("model_patch", str(path), path.stat().st_mtime_ns, dtype_name)
    if key not in manager:
        dtype = torch_dtype(dtype_name)
        tensors, _ = read_state_dict(path, cast=compute_cast(dtype))
        manager.add(key, build(tensors, detected, dtype).eval().requires_grad_(False))
    return ModelPatch(manager, key, detected)


def encode(vae: Any, image: torch.Tensor, height: int, width: int, latent_format: LatentFormat) -> torch.Tensor:
    """An IMAGE resized (area, centre crop) to ``width``×``height`` latent cells × 8, VAE-encoded, in the latent
    format, [B, C, h, w]."""
    from ...image_utils import common_upscale
    from ..vae_ops import encode as vae_encode

    pixels = common_upscale(image.movedim(-1, 1).float(), width * 8, height * 8, "area", "center").movedim(1, -1)
    with vae.use() as model:
        latent = latent_format.process_in(vae_encode(model, pixels))
    return latent[:, :, 0] if latent.ndim == 5 else latent  # Qwen-Image's VAE is a video VAE: its one frame


class DiffSynthPatch:
    """A ``double_block`` patch (ComfyUI's DiffSynthCnetPatch): after Qwen-Image block ``block_index``, its image
    tokens gain the blockwise ControlNet's block output times the strength. Called with ComfyUI's patch
    arguments (``img``, ``x`` the latent, ``block_index``), returns them with ``img`` changed."""

    node_name = "QwenImageDiffsynthControlnet"

    def __init__(self, patch: ModelPatch, vae: Any, image: torch.Tensor, strength: float,
                 mask: torch.Tensor | None, latent_format: LatentFormat) -> None:
        self.patch, self.vae, self.image, self.strength, self.mask = patch, vae, image, strength, mask
        self.latent_format = latent_format
        self._hint: dict[tuple[int, int], torch.Tensor] = {}

    def hint(self, net: QwenBlockwise, height: int, width: int) -> torch.Tensor:
        found = self._hint.get((height, width))
        if found is None:
            latent = encode(self.vae, self.image, height, width, self.latent_format)
            if net.additional_in_dim > 0:
                channels = net.additional_in_dim // 4
                if self.mask is None:
                    mask = torch.ones(latent.shape[0], channels, height, width)
                else:
                    from ...image_utils import common_upscale

                    mask = self.mask.reshape(-1, 1, *self.mask.shape[-2:]).float()
                    mask = common_upscale(mask, width, height, "bilinear", "none").repeat(1, channels, 1, 1)
                latent = torch.cat([latent, mask], dim=1)
            found = self._hint[(height, width)] = net.embed(latent.to(net.img_in.weight.dtype))
        return found

    def __call__(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        img, x, index = kwargs["img"], kwargs["x"], int(kwargs["block_index"])
        with self.patch.use() as net:
            hint = self.hint(net, int(x.shape[-2]), int(x.shape[-1])).to(img.device, img.dtype)
            count = hint.shape[1]
            add = net.block(index, img[:, :count], hint.expand(img.shape[0], -1, -1)) * self.strength
        kwargs["img"] = torch.cat([img[:, :count] + add, img[:, count:]], dim=1)
        return kwargs


class ZImageFunPatch:
    """The Z-Image Fun ControlNet's ``double_block``/``noise_refiner`` patch: the hint (and, for 2.x, the inpaint
    image and mask) encoded once per latent size, and :meth:`residuals` — the control blocks' outputs keyed by
    the main layer they are added to — for the Z-Image adapter to pass as diffusers' ``controlnet_block_samples``."""

    node_name = "QwenImageDiffsynthControlnet"

    def __init__(self, patch: ModelPatch, vae: Any, image: torch.Tensor | None, strength: float,
                 inpaint_image: torch.Tensor | None = None, mask: torch.Tensor | None = None) -> None:
        self.patch, self.vae, self.image, self.strength = patch, vae, image, strength
        self.inpaint_image, self.mask = inpaint_image, mask

    def context(self, net: Any, height: int, width: int) -> torch.Tensor:
        """The control context [C, 1, h, w]: the hint's latent, and for inpainting models the mask and the
        masked image's latent after it (ComfyUI's ZImageControlPatch.encode_latent_cond)."""
        from ...image_utils import common_upscale

        reference = self.image if self.image is not None else self.inpaint_image
        if reference is None:
            raise ValueError("the Z-Image Fun ControlNet needs an image or an inpaint image")
        grey = torch.ones_like(reference[..., :3]) * 0.5
        hint = encode(self.vae, self.image if self.image is not None else grey, height, width, FLUX_LATENT)
        parts = [hint]
        if int(net.config.control_in_dim) > hint.shape[1]:
            inpaint = self.inpaint_image if self.inpaint_image is not None else grey
            mask = torch.zeros(hint.shape[0], 1, height, width)
            if self.mask is not None:
                flat = self.mask.reshape(self.mask.shape[0], -1, *self.mask.shape[-2:]).mean(dim=1, keepdim=True)
                keep = common_upscale(flat.float(), inpaint.shape[2], inpaint.shape[1], "bilinear", "center").round()
                inpaint = (inpaint - 0.5) * keep.movedim(1, -1) + 0.5
                mask = torch.nn.functional.interpolate(flat.float(), size=(height, width), mode="nearest")
            parts += [mask, encode(self.vae, inpaint, height, width, FLUX_LATENT)]
        return torch.cat(parts, dim=1)[0].unsqueeze(1)

    def residuals(self, main: Any, latents: list[torch.Tensor], timestep: torch.Tensor,
                  captions: list[torch.Tensor]) -> dict[int, torch.Tensor]:
        """The control blocks' residuals for the main model's call (diffusers' ZImageControlNetModel, fed the
        main model's embedders), scaled by the strength."""
        from diffusers import ZImageControlNetModel

        with self.patch.use() as net:
            ZImageControlNetModel.from_transformer(net, main)
            try:
                height, width = latents[0].shape[-2:]
                context = self.context(net, int(height), int(width)).to(latents[0].device, latents[0].dtype)
                found: dict[int, torch.Tensor] = net(latents, timestep, captions, [context] * len(latents),
                                                     conditioning_scale=self.strength)
            finally:  # the main model's modules are lent for the call, never kept (nor moved with the patch)
                for name in SHARED:
                    setattr(net, name, None)
            return found
