"""Flux.2's nodes: EmptyFlux2LatentImage's shape, Flux2Scheduler against diffusers' Flux.2 pipeline (its
empirical μ and the scheduler's exponential time shift), and both nodes' /object_info against ComfyUI's
declarations (comfy_extras/nodes_flux.py) written down by hand."""

from __future__ import annotations

import math

import pytest
import torch

from inkgraph import nodes
from inkgraph.engine import spec_of
from inkgraph.engine.core.object_info import node_info


def test_empty_flux2_latent_is_128_channels_at_a_sixteenth() -> None:
    from inkgraph.nodes.flux2 import EmptyFlux2LatentImage

    samples = EmptyFlux2LatentImage(1248, 832, 2)["samples"]
    assert samples.shape == (2, 128, 52, 78) and not samples.any()


@pytest.mark.parametrize(("steps", "width", "height"),
                         [(20, 1024, 1024), (4, 1248, 832), (50, 2048, 2048), (1, 16, 16)])
def test_flux2_scheduler_equals_diffusers_flux2_schedule(steps: int, width: int, height: int) -> None:
    from diffusers.pipelines.flux2.pipeline_flux2 import compute_empirical_mu

    from inkgraph.nodes.flux2 import Flux2Scheduler

    sigmas = Flux2Scheduler(steps, width, height)
    mu = compute_empirical_mu(round(width * height / 256), steps)
    t = torch.linspace(1, 0, steps + 1)[:-1]
    expected = math.exp(mu) / (math.exp(mu) + (1 / t - 1))  # diffusers' FlowMatch "exponential" time shift
    assert sigmas.dtype == torch.float32 and sigmas.shape == (steps + 1,)
    assert torch.allclose(sigmas[:-1], expected, atol=1e-6) and sigmas[-1] == 0.0


REFERENCE = {
    "EmptyFlux2LatentImage": ("latent", "Empty Flux 2 Latent", [
        ("width", ["INT", {"default": 1024, "min": 16, "max": 16384, "step": 16}]),
        ("height", ["INT", {"default": 1024, "min": 16, "max": 16384, "step": 16}]),
        ("batch_size", ["INT", {"default": 1, "min": 1, "max": 4096}])], [("LATENT", "LATENT")]),
    "Flux2Scheduler": ("sampling/custom_sampling/schedulers", "Flux2Scheduler", [
        ("steps", ["INT", {"default": 20, "min": 1, "max": 4096}]),
        ("width", ["INT", {"default": 1024, "min": 16, "max": 16384, "step": 1}]),
        ("height", ["INT", {"default": 1024, "min": 16, "max": 16384, "step": 1}])], [("SIGMAS", "SIGMAS")]),
    "FluxKVCache": ("", "Flux KV Cache", [
        ("model", ["MODEL", {"tooltip": "The model to use KV Cache on."}])], [("MODEL", "MODEL")]),
}


@pytest.mark.parametrize("class_type", sorted(REFERENCE))
def test_object_info_matches_comfyui(class_type: str) -> None:
    specs = {spec_of(fn).class_type: spec_of(fn) for fn in nodes.node_list()}
    category, display, required, outputs = REFERENCE[class_type]
    info = node_info(specs[class_type], None)
    assert info["category"] == category and info["display_name"] == display
    assert info["input_order"]["required"] == [name for name, _ in required]
    for name, config in required:
        assert info["input"]["required"][name] == config, name
    assert info["output"] == [t for t, _ in outputs] and info["output_name"] == [n for _, n in outputs]


def test_flux_kv_cache_is_experimental_with_comfyuis_description() -> None:
    specs = {spec_of(fn).class_type: spec_of(fn) for fn in nodes.node_list()}
    info = node_info(specs["FluxKVCache"], None)
    assert info["experimental"] is True
    assert info["description"] == "Enables KV Cache optimization for reference images on Flux family models."
    assert info["output_tooltips"] == ["The patched model with KV Cache enabled."]
