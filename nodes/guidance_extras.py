"""Guidance variants of ComfyUI's core: Perp-Neg (PerpNeg, PerpNegGuider), Epsilon Scaling, Tangential
Damping CFG, Mahiro, FreSca, and the video models' per-frame CFG ramps (VideoLinearCFGGuidance,
VideoTriangleCFGGuidance). The hooks are in :mod:`.diffusion.patches.cfg_extras`; here the nodes with
ComfyUI's names, categories, inputs and defaults.
"""

from __future__ import annotations

from typing import Annotated, Any

from inkgraph.engine import Conditioning, Float, Int, Model, Output, Socket, node

from .model_patches import _patched

PatchedModel = Annotated[Any, Socket(type="MODEL"), Output("patched_model")]
MinCfg = Annotated[float, Float(min=0.0, max=100.0, step=0.5, round=0.01)]


@node(category="_for_testing", display_name="Perp-Neg (DEPRECATED by PerpNegGuider)", experimental=True,
      deprecated=True)
def PerpNeg(model: Model, empty_conditioning: Conditioning,
            neg_scale: Annotated[float, Float(min=0.0, max=100.0, step=0.01)] = 1.0) -> Model:
    """Perp-Neg as a model patch: the negative prompt pushes away only perpendicular to the positive one,
    measured from an empty prompt's prediction (one extra network call per step)."""
    from .diffusion.patches.cfg_extras import PerpNegCfg

    return _patched(model, "PerpNeg", lambda o: o.with_cfg_function(PerpNegCfg(empty_conditioning, neg_scale)))


@node(category="_for_testing", experimental=True)
def PerpNegGuider(model: Model, positive: Conditioning, negative: Conditioning, empty_conditioning: Conditioning,
                  cfg: Annotated[float, Float(min=0.0, max=100.0, step=0.1, round=0.01)] = 8.0,
                  neg_scale: Annotated[float, Float(min=0.0, max=100.0, step=0.01)] = 1.0
                  ) -> Annotated[Any, Socket(type="GUIDER")]:
    """Perp-Neg guidance: the positive, negative and empty prompts predicted in one batch, the negative
    counting only where it is perpendicular to the positive."""
    from .diffusion.patches.cfg_extras import PerpNegGuider as Guider

    return Guider(model, positive, negative, empty_conditioning, cfg, neg_scale)


@node("Epsilon Scaling", category="model_patches/unet")
def EpsilonScaling(model: Model, scaling_factor: Annotated[float, Float(
        min=0.5, max=1.5, step=0.001, display="number")] = 1.005) -> Model:
    """Epsilon Scaling ("Elucidating the Exposure Bias in Diffusion Models"): the predicted noise divided by
    the factor at every step, against exposure bias."""
    from .diffusion.patches.cfg_extras import EpsilonScaling as Scaling

    return _patched(model, "Epsilon Scaling", lambda o: o.with_post_cfg_function(Scaling(scaling_factor)))


@node(category="advanced/guidance", display_name="Tangential Damping CFG",
      description="TCFG – Tangential Damping CFG (2503.18137)\n\nRefine the uncond (negative) to align with the "
                  "cond (positive) for improving quality.")
def TCFG(model: Model) -> PatchedModel:
    """The negative prediction's components tangential to the positive one are dropped before CFG."""
    from .diffusion.patches.cfg_extras import TangentialDampingCFG

    return _patched(model, "TCFG", lambda o: o.with_pre_cfg_function(TangentialDampingCFG()))


@node(category="_for_testing", experimental=True,
      display_name="Mahiro is so cute that she deserves a better guidance function!! (。・ω・。)",
      description="Modify the guidance to scale more on the 'direction' of the positive prompt rather than the "
                  "difference between the negative prompt.")
def Mahiro(model: Model) -> PatchedModel:
    """Mahiro's guidance: the CFG result mixed with the scaled positive prediction by their similarity."""
    from .diffusion.patches.cfg_extras import Mahiro as Hook

    return _patched(model, "Mahiro", lambda o: o.with_post_cfg_function(Hook()))


@node(category="_for_testing", display_name="FreSca", experimental=True,
      description="Applies frequency-dependent scaling to the guidance")
def FreSca(
    model: Model,
    scale_low: Annotated[float, Float(min=0, max=10, step=0.01,
                                      tooltip="Scaling factor for low-frequency components")] = 1.0,
    scale_high: Annotated[float, Float(min=0, max=10, step=0.01,
                                       tooltip="Scaling factor for high-frequency components")] = 1.25,
    freq_cutoff: Annotated[int, Int(min=1, max=10000, step=1, tooltip=(
        "Number of frequency indices around center to consider as low-frequency"))] = 20,
) -> Model:
    """The guidance's low and high spatial frequencies scaled apart (FreSca)."""
    from .diffusion.patches.cfg_extras import FreSca as Hook

    return _patched(model, "FreSca", lambda o: o.with_pre_cfg_function(Hook(scale_low, scale_high, freq_cutoff)))


@node(category="sampling/video_models")
def VideoLinearCFGGuidance(model: Model, min_cfg: MinCfg = 1.0) -> Model:
    """The CFG scale rises linearly over the frames from min_cfg to the sampler's cfg (SVD)."""
    from .diffusion.patches.cfg_extras import VideoCfgRamp

    return _patched(model, "VideoLinearCFGGuidance", lambda o: o.with_cfg_function(VideoCfgRamp(min_cfg, False)))


@node(category="sampling/video_models")
def VideoTriangleCFGGuidance(model: Model, min_cfg: MinCfg = 1.0) -> Model:
    """The CFG scale goes from min_cfg up to the sampler's cfg at the middle frame and back down (SVD)."""
    from .diffusion.patches.cfg_extras import VideoCfgRamp

    return _patched(model, "VideoTriangleCFGGuidance", lambda o: o.with_cfg_function(VideoCfgRamp(min_cfg, True)))


NODES = [PerpNeg, PerpNegGuider, EpsilonScaling, TCFG, Mahiro, FreSca, VideoLinearCFGGuidance,
         VideoTriangleCFGGuidance]
