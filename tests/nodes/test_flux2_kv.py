"""Flux.2's references modulated at t = 0 ("index_timestep_zero") and FluxKVCache, as ComfyUI runs them: the
attention processors against diffusers' own (full attention, the t = 0 blend equal to the plain forward when
the references' t is the step's), the kept keys and values (a later call at the same input gives the first
call's output; a call at another input differs from recomputing the references), the default method under
FluxKVCache, and other families refusing the patch with the node's name."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from inkgraph.nodes.diffusion.conds import EncodeContext
from inkgraph.nodes.diffusion.families.flux2 import Flux2Adapter, image_ids, pack, text_ids
from inkgraph.nodes.diffusion.families.flux2_refs import KVCacheState, kv_cache_active, ref_processors
from tests.fixtures import tiny_flux2 as tf


def ctx(shape: tuple[int, ...]) -> EncodeContext:
    return EncodeContext("positive", shape, torch.device("cpu"), torch.float32)


@pytest.fixture(scope="module")
def model() -> Any:
    return tf.flux2("klein", 6).eval()


def inputs(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
    generator = torch.Generator().manual_seed(seed)
    text = torch.randn(1, 512, 48, generator=generator)
    x = torch.randn(1, 128, 2, 3, generator=generator)
    refs = [torch.randn(1, 128, 3, 2, generator=generator)]
    return text, x, refs


def test_the_processors_attend_fully_and_blend_the_reference_modulation(model: Any) -> None:
    """With the references' t set to the step's own, diffusers' blended forward through these processors is the
    plain forward over [image, references] (what ComfyUI runs for "index"): full attention, nothing lost."""
    text, x, refs = inputs()
    sigma = torch.tensor([0.6])
    tokens, ref_tokens = pack(x), pack(refs[0])
    ids, ref_ids = image_ids(2, 3), image_ids(3, 2, 10.0)
    common = {"encoder_hidden_states": text, "timestep": sigma, "txt_ids": text_ids(512), "return_dict": False}
    with torch.no_grad():
        plain = model(hidden_states=torch.cat([tokens, ref_tokens], 1), img_ids=torch.cat([ids, ref_ids]),
                      **common)[0][:, :6]
        with ref_processors(model):
            blended, _ = model(hidden_states=torch.cat([ref_tokens, tokens], 1), img_ids=torch.cat([ref_ids, ids]),
                               kv_cache_mode="extract", num_ref_tokens=6, ref_fixed_timestep=0.6, **common)
        plain_again = model(hidden_states=torch.cat([tokens, ref_tokens], 1), img_ids=torch.cat([ids, ref_ids]),
                            **common)[0][:, :6]
    assert torch.allclose(blended, plain, atol=1e-5)
    assert torch.equal(plain_again, plain)  # the module's own processors are back


def test_index_timestep_zero_modulates_the_references_at_zero(model: Any) -> None:
    """The chosen method runs the blended forward at t = 0 for the references; "index" does not."""
    adapter = Flux2Adapter()
    text, x, refs = inputs(1)
    sigma = torch.tensor([0.6])
    with torch.no_grad():
        zero = adapter.apply(model, x, sigma, adapter.encode(
            model, text, {"reference_latents": refs, "reference_latents_method": "index_timestep_zero"},
            ctx(tuple(x.shape))))
        index = adapter.apply(model, x, sigma, adapter.encode(
            model, text, {"reference_latents": refs, "reference_latents_method": "index"}, ctx(tuple(x.shape))))
        with ref_processors(model):
            expected, _ = model(hidden_states=torch.cat([pack(refs[0]), pack(x)], 1),
                                img_ids=torch.cat([image_ids(3, 2, 10.0), image_ids(2, 3)]),
                                encoder_hidden_states=text, timestep=sigma, txt_ids=text_ids(512),
                                kv_cache_mode="extract", num_ref_tokens=6, ref_fixed_timestep=0.0, return_dict=False)
    assert torch.allclose(zero, expected.transpose(1, 2).reshape(1, 128, 2, 3), atol=1e-6)
    assert not torch.allclose(zero, index, atol=1e-3)


def test_flux_kv_cache_keeps_the_first_calls_keys_and_values(model: Any) -> None:
    """Under FluxKVCache the MODEL's default method is index_timestep_zero; the first call keeps the references'
    keys and values: a second call at the same input gives the same output from the kept ones, a call at a new
    input differs from recomputing the references (their keys depend on the image they attended to)."""
    adapter = Flux2Adapter()
    text, x, refs = inputs(2)
    x_later = torch.randn(1, 128, 2, 3, generator=torch.Generator().manual_seed(9))
    sigma, later = torch.tensor([0.9]), torch.tensor([0.4])
    conds = adapter.encode(model, text, {"reference_latents": refs}, ctx(tuple(x.shape)))
    explicit = adapter.encode(model, text, {"reference_latents": refs,
                                            "reference_latents_method": "index_timestep_zero"}, ctx(tuple(x.shape)))
    state = KVCacheState()
    options = {"patches": {"flux_kv_cache": [state]}}
    with torch.no_grad():
        recomputed_first = adapter.apply(model, x, sigma, explicit)
        with kv_cache_active(options):
            first = adapter.apply(model, x, sigma, conds)
            assert state.get(conds["ref_tokens"]) is not None
            again = adapter.apply(model, x, sigma, conds)
            cached_later = adapter.apply(model, x_later, later, conds)
        recomputed_later = adapter.apply(model, x_later, later, explicit)
        without = adapter.apply(model, x, sigma, conds)  # no FluxKVCache: Flux.2's default, "index"
    assert torch.allclose(first, recomputed_first, atol=1e-6)
    assert torch.allclose(again, first, atol=1e-5)
    assert not torch.allclose(cached_later, recomputed_later, atol=1e-4)
    assert not torch.allclose(without, first, atol=1e-3)


def test_other_families_refuse_flux_kv_cache_naming_the_node() -> None:
    from inkgraph.nodes.diffusion.families.flux import FLUX_LATENT, FluxAdapter
    from inkgraph.nodes.diffusion.patches.support import PatchNotSupported, check_supported

    options = {"transformer_options": {"patches": {"flux_kv_cache": [KVCacheState()]}}}
    check_supported(Flux2Adapter(), options, "flux2")
    with pytest.raises(PatchNotSupported, match="FluxKVCache needs 'flux_kv_cache' patches.*'flux' model family"):
        check_supported(FluxAdapter(FLUX_LATENT), options, "flux")
