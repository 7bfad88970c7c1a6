"""Flux.2's own nodes, with ComfyUI's names, inputs and behaviour: EmptyFlux2LatentImage (128 channels at
1/16 of the image: Flux.2's 32-channel VAE latent in 2×2 patches) and Flux2Scheduler (the schedule of
Black Forest Labs' reference code: a time shift μ fitted to the image's token count and the step count).

FluxKVCache (the klein 9B KV edit workflow): the reference images' keys and values are computed once per
sampling run, with the references modulated at t = 0 (``diffusion/families/flux2_refs.py``). The Flux.2
family itself is ``diffusion/families/flux2.py``; the scheduler serves any flow model.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from inkgraph.engine import Int, Output, Socket, node

from . import MAX_RESOLUTION


@node(display_name="Empty Flux 2 Latent", category="latent")
def EmptyFlux2LatentImage(
    width: Annotated[int, Int(min=16, max=MAX_RESOLUTION, step=16)] = 1024,
    height: Annotated[int, Int(min=16, max=MAX_RESOLUTION, step=16)] = 1024,
    batch_size: Annotated[int, Int(min=1, max=4096)] = 1,
) -> Annotated[dict[str, Any], Socket(type="LATENT"), Output("LATENT")]:
    """An empty Flux.2 latent: [batch, 128, height/16, width/16]."""
    import torch

    return {"samples": torch.zeros(batch_size, 128, height // 16, width // 16)}


def empirical_mu(image_seq_len: int, steps: int) -> float:
    """Flux.2's time shift μ: linear in the token count, interpolated between fits for 10 and 200 steps
    (large images use the 200-step fit alone)."""
    a1, b1 = 8.73809524e-05, 1.89833333
    a2, b2 = 0.00016927, 0.45666666
    if image_seq_len > 4300:
        return float(a2 * image_seq_len + b2)
    m_200 = a2 * image_seq_len + b2
    m_10 = a1 * image_seq_len + b1
    a = (m_200 - m_10) / 190.0
    return float(a * steps + (m_200 - 200.0 * a))


@node(category="sampling/custom_sampling/schedulers")
def Flux2Scheduler(
    steps: Annotated[int, Int(min=1, max=4096)] = 20,
    width: Annotated[int, Int(min=16, max=MAX_RESOLUTION, step=1)] = 1024,
    height: Annotated[int, Int(min=16, max=MAX_RESOLUTION, step=1)] = 1024,
) -> Annotated[Any, Socket(type="SIGMAS")]:
    """Flux.2's schedule: t from 1 to 0 in ``steps`` even steps, shifted by e^μ / (e^μ + 1/t − 1) with μ
    from the image's tokens (width·height/256) and the step count."""
    import torch

    mu = empirical_mu(round(width * height / (16 * 16)), steps)
    t = torch.linspace(1, 0, steps + 1)
    return math.exp(mu) / (math.exp(mu) + (1 / t - 1))


@node(display_name="Flux KV Cache", category="", experimental=True,
      description="Enables KV Cache optimization for reference images on Flux family models.")
def FluxKVCache(
    model: Annotated[Any, Socket(type="MODEL", tooltip="The model to use KV Cache on.")],
) -> Annotated[Any, Socket(type="MODEL"), Output("MODEL", tooltip="The patched model with KV Cache enabled.")]:
    """The same weights with a ``flux_kv_cache`` patch: Flux.2 keeps its reference tokens' keys and values
    from a run's first step and makes "index_timestep_zero" the default reference method. Other families
    refuse the patch before the first step, naming this node."""
    from .diffusion.families.flux2_refs import KVCacheState
    from .model_patches import _patched

    state = KVCacheState()
    return _patched(model, "FluxKVCache", lambda o: o.with_patch("flux_kv_cache", state))


NODES = [EmptyFlux2LatentImage, Flux2Scheduler, FluxKVCache]
