"""ControlNet nodes: loading ControlNets and T2I-Adapters, and applying them to conditionings (ComfyUI's
ControlNetLoader, DiffControlNetLoader, ControlNetApply, ControlNetApplyAdvanced, ControlNetApplySD3,
SetUnionControlNetType, ControlNetInpaintingAliMamaApply).

Applying a ControlNet gives each conditioning entry a copy of it holding the hint, strength and percent range,
linked to the ControlNet the entry already had (so several stack); the sampler evaluates the chain at every
step inside its range and the model family's adapter adds the residuals (``diffusion/control``).
"""

from __future__ import annotations

from typing import Annotated, Any

from inkgraph.engine import Combo, Conditioning, Context, Float, Image, Mask, Model, Output, Socket, Vae, node
from inkgraph.engine.core.paths import ModelFiles

CONTROL_NET = Annotated[Any, Socket(type="CONTROL_NET")]
STRENGTH = Annotated[float, Float(min=0.0, max=10.0, step=0.01)]
PERCENT = Float(min=0.0, max=1.0, step=0.001)
PAIR = tuple[Annotated[list[Any], Socket(type="CONDITIONING"), Output("positive")],
             Annotated[list[Any], Socket(type="CONDITIONING"), Output("negative")]]

_controlnets = ModelFiles("controlnet")
ControlNetName = Annotated[str, Combo(options=_controlnets)]


@node(display_name="Load ControlNet Model", category="loaders")
def ControlNetLoader(ctx: Context, control_net_name: ControlNetName) -> CONTROL_NET:
    """Loads a ControlNet or T2I-Adapter (models/controlnet): SD1.5/SDXL (original or diffusers layout, union),
    Flux (InstantX, Shakker, XLabs), SD3/SD3.5, Qwen-Image — the kind read from the file's tensors."""
    from .diffusion.control import load
    from .diffusion.control.base import ControlNet

    return ControlNet(load(ctx.models, ctx.folders.model_path("controlnet", control_net_name)))


@node(display_name="Load ControlNet Model (diff)", category="loaders")
def DiffControlNetLoader(ctx: Context, model: Model, control_net_name: ControlNetName) -> CONTROL_NET:
    """Loads a ControlNet; a "diff" ControlNet (its weights are differences to a model) gets the model's
    weights added."""
    from .diffusion.control import load
    from .diffusion.control.base import ControlNet

    return ControlNet(load(ctx.models, ctx.folders.model_path("controlnet", control_net_name), model))


def _check(control_net: Any, node_name: str) -> None:
    from .diffusion.control.base import ControlNet

    if not isinstance(control_net, ControlNet):
        raise ValueError(f"{node_name}: input 'control_net' is not a ControlNet (got {type(control_net).__name__})")


@node(display_name="Apply ControlNet (DEPRECATED)", category="conditioning/controlnet", deprecated=True)
def ControlNetApply(conditioning: Conditioning, control_net: CONTROL_NET, image: Image,
                    strength: STRENGTH = 1.0) -> Conditioning:
    """Applies a ControlNet to one conditioning over the whole sampling run (use Apply ControlNet)."""
    if strength == 0:
        return conditioning
    _check(control_net, "ControlNetApply")
    hint = image.movedim(-1, 1)
    out = []
    for embedding, options in conditioning:
        options = dict(options)
        applied = control_net.copy().set_cond_hint(hint, strength)
        if "control" in options:
            applied.set_previous_controlnet(options["control"])
        options["control"] = applied
        options["control_apply_to_uncond"] = True
        out.append([embedding, options])
    return out


def apply_controlnet(positive: list[Any], negative: list[Any], control_net: Any, image: Any, strength: float,
                     start_percent: float, end_percent: float, vae: Any = None,
                     extra_concat: list[Any] | None = None) -> tuple[list[Any], list[Any]]:
    """ComfyUI's ControlNetApplyAdvanced: entries that share a previous ControlNet share the new copy (so the
    positive and negative passes still run in one batch)."""
    if strength == 0:
        return positive, negative
    _check(control_net, "ControlNetApplyAdvanced")
    hint = image.movedim(-1, 1)
    copies: dict[int, Any] = {}
    out = []
    for conditioning in (positive, negative):
        entries = []
        for embedding, options in conditioning:
            options = dict(options)
            previous = options.get("control")
            applied = copies.get(id(previous))
            if applied is None:
                applied = control_net.copy().set_cond_hint(hint, strength, (start_percent, end_percent), vae=vae,
                                                           extra_concat=extra_concat)
                applied.set_previous_controlnet(previous)
                copies[id(previous)] = applied
            options["control"] = applied
            options["control_apply_to_uncond"] = False
            entries.append([embedding, options])
        out.append(entries)
    return out[0], out[1]


@node(display_name="Apply ControlNet", category="conditioning/controlnet")
def ControlNetApplyAdvanced(
    positive: Conditioning, negative: Conditioning, control_net: CONTROL_NET, image: Image,
    strength: STRENGTH = 1.0, start_percent: Annotated[float, PERCENT] = 0.0,
    end_percent: Annotated[float, PERCENT] = 1.0, vae: Annotated[Any, Socket(type="VAE", optional=True)] = None,
) -> PAIR:
    """Applies a ControlNet to the positive and negative conditioning between two points of the sampling run
    (0: its start, 1: its end). ControlNets that work in latent space (Flux InstantX, SD3, Qwen-Image) need the
    VAE to encode the image."""
    return apply_controlnet(positive, negative, control_net, image, strength, start_percent, end_percent, vae)


@node(display_name="Apply Controlnet with VAE", category="conditioning/controlnet", deprecated=True)
def ControlNetApplySD3(positive: Conditioning, negative: Conditioning, control_net: CONTROL_NET, vae: Vae,
                       image: Image, strength: STRENGTH = 1.0, start_percent: Annotated[float, PERCENT] = 0.0,
                       end_percent: Annotated[float, PERCENT] = 1.0) -> PAIR:
    """Apply ControlNet with a required VAE (SD3's first ControlNet node)."""
    return apply_controlnet(positive, negative, control_net, image, strength, start_percent, end_percent, vae)


UNION_TYPES = ("auto", "openpose", "depth", "hed/pidi/scribble/ted", "canny/lineart/anime_lineart/mlsd", "normal",
               "segment", "tile", "repaint")


@node(category="conditioning/controlnet",
      description="Sets the control type for a Union ControlNet, selecting which conditioning mode to use.")
def SetUnionControlNetType(control_net: CONTROL_NET, type: Annotated[str, Combo(options=UNION_TYPES)]  # noqa: A002
                           ) -> CONTROL_NET:
    from .diffusion.control.sd import UNION_TYPES as NUMBERS

    _check(control_net, "SetUnionControlNetType")
    out = control_net.copy()
    number = NUMBERS.get(type, -1)
    out.set_extra_arg("control_type", [number] if number >= 0 else [])
    return out


@node(category="conditioning/controlnet",
      description="Applies an AliMama inpainting ControlNet to positive and negative conditioning using an image "
                  "and mask with VAE encoding.")
def ControlNetInpaintingAliMamaApply(
    positive: Conditioning, negative: Conditioning, control_net: CONTROL_NET, vae: Vae, image: Image, mask: Mask,
    strength: STRENGTH = 1.0, start_percent: Annotated[float, PERCENT] = 0.0,
    end_percent: Annotated[float, PERCENT] = 1.0,
) -> PAIR:
    extra_concat: list[Any] = []
    _check(control_net, "ControlNetInpaintingAliMamaApply")
    if control_net.concat_mask:  # the hint keeps what stays; its mask channel says where (1: keep)
        from .image_utils import common_upscale

        mask = 1.0 - mask.reshape((-1, 1, mask.shape[-2], mask.shape[-1]))
        keep = common_upscale(mask, image.shape[2], image.shape[1], "bilinear", "center").round()
        image = image * keep.movedim(1, -1).repeat(1, 1, 1, image.shape[3])
        extra_concat = [mask]
    return apply_controlnet(positive, negative, control_net, image, strength, start_percent, end_percent, vae,
                            extra_concat)


MODEL_PATCH = Annotated[Any, Socket(type="MODEL_PATCH")]
_patches = ModelFiles("model_patches")
PATCH_STRENGTH = Annotated[float, Float(min=-10.0, max=10.0, step=0.01)]


@node(category="advanced/loaders", experimental=True)
def ModelPatchLoader(ctx: Context, name: Annotated[str, Combo(options=_patches)]) -> MODEL_PATCH:
    """Loads a model patch (models/model_patches): DiffSynth's Qwen-Image blockwise ControlNets, the Z-Image
    Turbo Fun ControlNet Union."""
    from .diffusion.control.patches import load

    return load(ctx.models, ctx.folders.model_path("model_patches", name))


def _patch_model(node_name: str, model: Any, model_patch: Any, vae: Any, image: Any, strength: float,
                 inpaint_image: Any = None, mask: Any = None) -> Any:
    from .diffusion.control.patches import DiffSynthPatch, ModelPatch, ZImageFunPatch
    from .diffusion.model_api import latent_format_of
    from .diffusion.patches.options import model_options_of

    if not isinstance(model_patch, ModelPatch):
        raise ValueError(f"{node_name}: input 'model_patch' is not a model patch (got {type(model_patch).__name__})")
    image = image[..., :3] if image is not None else None
    inpaint_image = inpaint_image[..., :3] if inpaint_image is not None else None
    if mask is not None:
        mask = 1.0 - mask.reshape(-1, 1, mask.shape[-2], mask.shape[-1]).float()
    options = model_options_of(model)
    if model_patch.detected.name == "zimage_fun":
        patch = ZImageFunPatch(model_patch, vae, image, strength, inpaint_image, mask)
        patch.node_name = node_name
        options = options.with_patch("noise_refiner", patch).with_patch("double_block", patch)
    else:
        if image is None:
            raise ValueError(f"{node_name}: the DiffSynth ControlNet needs an image")
        patch = DiffSynthPatch(model_patch, vae, image, strength, mask, latent_format_of(model))
        options = options.with_patch("double_block", patch)
    return model.with_options(options)


@node(category="advanced/loaders/qwen", experimental=True)
def QwenImageDiffsynthControlnet(model: Model, model_patch: MODEL_PATCH, vae: Vae, image: Image,
                                 strength: PATCH_STRENGTH = 1.0,
                                 mask: Annotated[Any, Socket(type="MASK", optional=True)] = None) -> Model:
    """Steers a Qwen-Image (or Z-Image) model from inside its blocks with a DiffSynth or Z-Image Fun ControlNet
    patch and a control image (and a mask for the inpainting ones)."""
    return _patch_model("QwenImageDiffsynthControlnet", model, model_patch, vae, image, strength, mask=mask)


@node(category="advanced/loaders/zimage", experimental=True)
def ZImageFunControlnet(model: Model, model_patch: MODEL_PATCH, vae: Vae, strength: PATCH_STRENGTH = 1.0,
                        image: Annotated[Any, Socket(type="IMAGE", optional=True)] = None,
                        inpaint_image: Annotated[Any, Socket(type="IMAGE", optional=True)] = None,
                        mask: Annotated[Any, Socket(type="MASK", optional=True)] = None) -> Model:
    """Steers a Z-Image model with the Z-Image Turbo Fun ControlNet Union: a control image, or an image to
    inpaint where the mask is set."""
    return _patch_model("ZImageFunControlnet", model, model_patch, vae, image, strength, inpaint_image, mask)


NODES = [ControlNetLoader, DiffControlNetLoader, ControlNetApply, ControlNetApplyAdvanced, ControlNetApplySD3,
         SetUnionControlNetType, ControlNetInpaintingAliMamaApply, ModelPatchLoader, QwenImageDiffsynthControlnet,
         ZImageFunControlnet]
