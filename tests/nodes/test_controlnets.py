"""ControlNets and T2I-Adapters: tiny random models in each real layout (SD1.5 original and diffusers, SDXL
union, T2I-Adapter, Flux InstantX union and XLabs, SD3.5 large, Qwen-Image InstantX) load through the real loader
with their architecture and exact weights; each family's adapter with a ControlNet equals the diffusers modules
called as diffusers' own ControlNet pipelines call them; strength 0 and a range that excludes σ leave the
prediction bit-identical; start/end percent are honoured on the σ steps a sampler runs; ControlNets stack."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from inkgraph.engine.core.devices import DevicePolicy, ModelManager
from inkgraph.nodes import controlnet as nodes
from inkgraph.nodes.diffusion import model_sampling as ms
from inkgraph.nodes.diffusion.control import KINDS, load
from inkgraph.nodes.diffusion.control.base import ControlInputs, ControlNet, merge, repeat_blocks
from inkgraph.nodes.diffusion.control.inject import block_residuals
from inkgraph.nodes.diffusion.control.run import placed
from inkgraph.nodes.diffusion.control.sd3 import sincos_positions
from inkgraph.nodes.diffusion.families.flux import FLUX_LATENT, FluxAdapter, image_ids, pack
from inkgraph.nodes.diffusion.families.sd3 import SD3_LATENT, SD3Adapter
from inkgraph.nodes.diffusion.guidance import BasicGuider, CFGGuider, Denoiser, denoiser_for
from inkgraph.nodes.diffusion.state_dict import ModelFileError
from inkgraph.nodes.diffusion.unet import UNetAdapter
from tests.fixtures import tiny_control as tc
from tests.fixtures import tiny_dit as td
from tests.fixtures import tiny_sd as ts

EPS = ms.discrete("epsilon")


@pytest.fixture(scope="module")
def manager() -> ModelManager:
    return ModelManager.with_policy(DevicePolicy())


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Any, Path]]:
    root = tmp_path_factory.mktemp("controlnets")
    sd1, union, adapter = tc.sd1_controlnet(1), tc.sdxl_union(2), tc.t2i_adapter(3)
    flux, xlabs, sd35 = tc.flux_union(4), tc.flux_xlabs(5), tc.sd35_controlnet(6)
    qwen, qwen_inpaint = tc.qwen_instantx(7), tc.qwen_instantx(8, inpaint=True)
    return {
        "sd1-original": (sd1, tc.save(tc.controlnet_ldm_state(sd1), root / "control_v11p_sd15_canny.pth.safetensors")),
        "sd1-diffusers": (sd1, tc.save(sd1.state_dict(), root / "diffusion_pytorch_model.safetensors")),
        "sdxl-union": (union, tc.save(union.state_dict(), root / "controlnet-union-sdxl-1.0.safetensors")),
        "t2i-original": (adapter, tc.save(tc.t2i_original_state(adapter),
                                          root / "t2iadapter_canny_sd15v2.safetensors")),
        "flux-union": (flux, tc.save(flux.state_dict(), root / "instantx_flux_union.safetensors")),
        "flux-xlabs": (xlabs, tc.save(tc.xlabs_state(xlabs), root / "flux-canny-controlnet-v3.safetensors")),
        "sd3.5-canny": (sd35, tc.save(tc.sd35_state(sd35, 1), root / "sd3.5_large_controlnet_canny.safetensors")),
        "qwen-instantx": (qwen, tc.save(qwen.state_dict(), root / "Qwen-Image-InstantX-ControlNet-Union.safetensors")),
        "qwen-inpaint": (qwen_inpaint, tc.save(qwen_inpaint.state_dict(),
                                               root / "Qwen-Image-InstantX-ControlNet-Inpainting.safetensors")),
    }


KIND_OF = {"sd1-original": ("sd_controlnet", "ldm"), "sd1-diffusers": ("sd_controlnet", "diffusers"),
           "sdxl-union": ("sd_union", "union"), "t2i-original": ("t2i_adapter", "original"),
           "flux-union": ("flux_instantx", "union"), "flux-xlabs": ("flux_xlabs", "xlabs"),
           "sd3.5-canny": ("sd35_controlnet", "canny"), "qwen-instantx": ("qwen_instantx", ""),
           "qwen-inpaint": ("qwen_instantx", "inpaint")}


@pytest.mark.parametrize("case", sorted(KIND_OF))
def test_files_load_with_their_kind_architecture_and_exact_weights(manager: ModelManager, files: Any,
                                                                   case: str) -> None:
    reference, path = files[case]
    model = load(manager, path)
    assert (model.kind.name, model.detected.variant) == KIND_OF[case]
    with model.use() as net:
        assert type(net) is type(reference) or case.startswith("t2i")
        expected, got = reference.state_dict(), net.state_dict()
        assert expected.keys() == got.keys()
        assert all(torch.equal(expected[k], got[k]) for k in expected)


def test_an_unknown_file_names_what_it_holds(tmp_path: Path, manager: ModelManager) -> None:
    path = tc.save({"some.weight": torch.zeros(2)}, tmp_path / "mystery.safetensors")
    with pytest.raises(ModelFileError, match=r"mystery\.safetensors holds no ControlNet.*some\.weight"):
        load(manager, path)
    assert [k.name for k in KINDS][:2] == ["qwen_instantx", "sd35_controlnet"]  # most specific first


def one_call(module: Any, adapter: Any, sampling: Any, latent_format: Any, guider: Any, x: torch.Tensor,
             sigma: float) -> tuple[torch.Tensor, Denoiser]:
    with placed(guider.conds.values()) as controls:
        denoiser = denoiser_for(module, sampling, guider, tuple(x.shape), adapter, controls=controls)
        with torch.no_grad():
            return denoiser(x, torch.tensor(sigma)), denoiser


def image(seed: int, size: int = 64) -> torch.Tensor:
    return torch.rand(1, size, size, 3, generator=torch.Generator().manual_seed(seed))


def text(seed: int, width: int, tokens: int = 5) -> torch.Tensor:
    return torch.randn(1, tokens, width, generator=torch.Generator().manual_seed(seed))


class FakeVae:
    """A VAE handle whose encoder is a fixed linear map (the hint's latent is then known in closed form)."""

    def __init__(self, channels: int) -> None:
        from diffusers import AutoencoderKL

        self.model = td.randomize(AutoencoderKL(
            in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 4,
            up_block_types=("UpDecoderBlock2D",) * 4, block_out_channels=(32,) * 4, layers_per_block=1,
            latent_channels=channels, norm_num_groups=32), 11)

    def use(self) -> Any:
        from contextlib import nullcontext

        return nullcontext(self.model)

    def encode(self, pixels: torch.Tensor) -> torch.Tensor:
        from inkgraph.nodes.diffusion.vae_ops import encode

        return encode(self.model, pixels)


# -- SD1.5 -------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sd1_unet() -> Any:
    return ts.build("sd1")["unet"].eval().requires_grad_(False)


def cfg(den: torch.Tensor, scale: float) -> torch.Tensor:
    return den[1:] + (den[:1] - den[1:]) * scale


def test_sd1_controlnet_equals_diffusers_controlnet_pipeline(manager: ModelManager, files: Any, sd1_unet: Any) -> None:
    net = files["sd1-original"][0]
    cnet = ControlNet(load(manager, files["sd1-original"][1]))
    positive, negative, picture = [[text(1, 32), {}]], [[text(2, 32), {}]], image(3)
    pos, neg = nodes.ControlNetApplyAdvanced(positive, negative, cnet, picture, 0.8, 0.0, 1.0)
    x = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(4))
    out, denoiser = one_call(sd1_unet, UNetAdapter(), EPS, None, CFGGuider(None, pos, neg, 5.0), x, 5.0)
    assert denoiser.runner.calls == 1  # positive and negative still share one batch
    sigma = torch.tensor([5.0, 5.0])
    both = torch.cat([x, x])
    x_in, t = EPS.calculate_input(sigma, both), EPS.timestep(sigma).float()
    context = torch.cat([positive[0][0], negative[0][0]])
    hint = torch.cat([picture.movedim(-1, 1)] * 2)  # already the latent's size × 8
    with torch.no_grad():
        down, mid = net(x_in, t, encoder_hidden_states=context, controlnet_cond=hint, conditioning_scale=0.8,
                        return_dict=False)
        raw = sd1_unet(x_in, t, encoder_hidden_states=context, down_block_additional_residuals=down,
                       mid_block_additional_residual=mid, return_dict=False)[0]
    expected = cfg(EPS.calculate_denoised(sigma, raw, both), 5.0)
    assert torch.allclose(out, expected, atol=1e-5)
    plain, _ = one_call(sd1_unet, UNetAdapter(), EPS, None, CFGGuider(None, positive, negative, 5.0), x, 5.0)
    assert not torch.allclose(out, plain, atol=1e-3)  # the ControlNet changes the prediction


def test_strength_zero_and_an_excluded_range_are_bit_identical(manager: ModelManager, files: Any,
                                                              sd1_unet: Any) -> None:
    cnet = ControlNet(load(manager, files["sd1-diffusers"][1]))
    positive, negative, picture = [[text(1, 32), {}]], [[text(2, 32), {}]], image(3)
    x = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(4))
    plain, _ = one_call(sd1_unet, UNetAdapter(), EPS, None, CFGGuider(None, positive, negative, 5.0), x, 5.0)
    zero = nodes.ControlNetApplyAdvanced(positive, negative, cnet, picture, 0.0, 0.0, 1.0)
    assert zero == (positive, negative)
    assert nodes.ControlNetApply(positive, cnet, picture, 0.0) is positive
    out, _ = one_call(sd1_unet, UNetAdapter(), EPS, None, CFGGuider(None, *zero, 5.0), x, 5.0)
    assert torch.equal(out, plain)
    late = nodes.ControlNetApplyAdvanced(positive, negative, cnet, picture, 1.0, 0.9, 1.0)  # σ=5 is early
    out, denoiser = one_call(sd1_unet, UNetAdapter(), EPS, None, CFGGuider(None, *late, 5.0), x, 5.0)
    assert torch.equal(out, plain) and denoiser.runner.controls.calls == []


def test_start_and_end_percent_on_the_sigma_steps_the_sampler_runs(manager: ModelManager, files: Any,
                                                                   sd1_unet: Any) -> None:
    from inkgraph.nodes.diffusion.samplers import sampler_object
    from inkgraph.nodes.diffusion.schedules import sampling_sigmas

    cnet = ControlNet(load(manager, files["sd1-original"][1]))
    positive, negative = [[text(1, 32), {}]], [[text(2, 32), {}]]
    pos, neg = nodes.ControlNetApplyAdvanced(positive, negative, cnet, image(3), 1.0, 0.25, 0.7)
    sigmas = sampling_sigmas(EPS, "normal", "euler", 10, 1.0)
    guider = CFGGuider(None, pos, neg, 4.0)
    x = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(5)) * sigmas[0]
    with placed(guider.conds.values()) as controls, torch.no_grad():
        denoiser = denoiser_for(sd1_unet, EPS, guider, tuple(x.shape), UNetAdapter(), controls=controls)
        sampler_object("euler")(denoiser, x, sigmas, 0)
    ran = [sigma for _, sigma in denoiser.runner.controls.calls]
    high, low = float(EPS.percent_to_sigma(0.25)), float(EPS.percent_to_sigma(0.7))
    expected = [float(s) for s in sigmas[:-1] if low <= float(s) <= high]
    assert ran == pytest.approx(expected) and 0 < len(expected) < len(sigmas) - 1


def test_controlnets_stack_and_their_residuals_add(manager: ModelManager, files: Any, sd1_unet: Any) -> None:
    first = ControlNet(load(manager, files["sd1-original"][1]))
    positive, negative = [[text(1, 32), {}]], [[text(2, 32), {}]]
    once = nodes.ControlNetApplyAdvanced(positive, negative, first, image(3), 0.5, 0.0, 1.0)
    twice = nodes.ControlNetApplyAdvanced(*once, first, image(6), 0.7, 0.0, 1.0)
    chain = twice[0][0][1]["control"].chain()
    assert len(chain) == 2 and chain[0] is once[0][0][1]["control"] and chain[1].strength == 0.7
    assert twice[1][0][1]["control"] is twice[0][0][1]["control"]  # one copy per previous ControlNet
    x = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(4))
    out, denoiser = one_call(sd1_unet, UNetAdapter(), EPS, None, BasicGuider(None, twice[0]), x, 3.0)
    assert [kind for kind, _ in denoiser.runner.controls.calls] == ["sd_controlnet", "sd_controlnet"]
    a = {"down": [torch.ones(1)], "mid": [torch.ones(1)]}
    b = {"down": [torch.ones(1) * 2, torch.ones(1)], "intrablock": [None]}
    assert merge(merge(None, a, 0.5), b, 2.0) == {"down": [torch.tensor([4.5]), torch.tensor([2.0])],
                                                  "mid": [torch.tensor([0.5])], "intrablock": [None]}


# -- SDXL union, T2I-Adapter -------------------------------------------------------------------------------

def sdxl_inputs(batch: int = 1) -> tuple[list[Any], dict[str, torch.Tensor]]:
    pooled = torch.randn(1, 48, generator=torch.Generator().manual_seed(9))
    entry = [[text(1, 80), {"pooled_output": pooled, "width": 64, "height": 64}]]
    return entry, {"text_embeds": pooled, "time_ids": torch.tensor([[64.0, 64.0, 0.0, 0.0, 64.0, 64.0]])}


@pytest.mark.parametrize("union_type", ["canny/lineart/anime_lineart/mlsd", "auto"])
def test_sdxl_union_controlnet_with_and_without_a_type(manager: ModelManager, files: Any, union_type: str) -> None:
    unet = ts.build("sdxl")["unet"].eval().requires_grad_(False)
    net = files["sdxl-union"][0]
    typed = nodes.SetUnionControlNetType(ControlNet(load(manager, files["sdxl-union"][1])), union_type)
    assert typed.extra_args["control_type"] == ([3] if union_type != "auto" else [])
    entry, added = sdxl_inputs()
    pos = nodes.ControlNetApply(entry, typed, image(3), 1.0)
    x = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(4))
    out, _ = one_call(unet, UNetAdapter(), EPS, None, BasicGuider(None, pos), x, 2.0)
    sigma = torch.tensor([2.0])
    x_in, t = EPS.calculate_input(sigma, x), EPS.timestep(sigma).float()
    hint = image(3).movedim(-1, 1)
    with torch.no_grad():
        if union_type == "auto":  # the hint's features on the input convolution, no type token
            handle = net.conv_in.register_forward_hook(lambda m, a, o: o + net.controlnet_cond_embedding(hint))
            down, mid = net(x_in, t, encoder_hidden_states=entry[0][0], controlnet_cond=[],
                            control_type=torch.zeros(1, 8), control_type_idx=[], added_cond_kwargs=added,
                            return_dict=False)
            handle.remove()
        else:
            one_hot = torch.zeros(1, 8)
            one_hot[0, 3] = 1
            down, mid = net(x_in, t, encoder_hidden_states=entry[0][0], controlnet_cond=[hint], control_type=one_hot,
                            control_type_idx=[3], added_cond_kwargs=added, return_dict=False)
        raw = unet(x_in, t, encoder_hidden_states=entry[0][0], added_cond_kwargs=added,
                   down_block_additional_residuals=down, mid_block_additional_residual=mid, return_dict=False)[0]
    assert torch.allclose(out, EPS.calculate_denoised(sigma, raw, x), atol=1e-5)


def test_t2i_adapter_features_go_inside_the_down_blocks(manager: ModelManager, files: Any, sd1_unet: Any) -> None:
    adapter = files["t2i-original"][0]
    pos = nodes.ControlNetApply([[text(1, 32), {}]], ControlNet(load(manager, files["t2i-original"][1])), image(3), 0.6)
    x = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(4))
    out, _ = one_call(sd1_unet, UNetAdapter(), EPS, None, BasicGuider(None, pos), x, 2.0)
    sigma = torch.tensor([2.0])
    x_in, t = EPS.calculate_input(sigma, x), EPS.timestep(sigma).float()
    with torch.no_grad():
        features = [f * 0.6 for f in adapter(image(3).movedim(-1, 1))]
        raw = sd1_unet(x_in, t, encoder_hidden_states=pos[0][0], down_intrablock_additional_residuals=features,
                       return_dict=False)[0]
    assert torch.allclose(out, EPS.calculate_denoised(sigma, raw, x), atol=1e-5)


# -- Flux --------------------------------------------------------------------------------------------------

FLOW = ms.combine(ms.ModelSamplingFlux, ms.CONST, shift=1.15)


def flux_reference(main: Any, net: Any, x: torch.Tensor, sigma: float, cond: torch.Tensor, context: torch.Tensor,
                   pooled: torch.Tensor, mode: int | None, strength: float, repeat: bool) -> torch.Tensor:
    """diffusers' FluxControlNetPipeline's call: the ControlNet's samples into the transformer's own path."""
    s = torch.tensor([sigma])
    x_in, t = FLOW.calculate_input(s, x), FLOW.timestep(s).float()
    ids, txt_ids = image_ids(*x.shape[-2:]), torch.zeros(context.shape[1], 3)
    guidance = torch.tensor([3.5])
    kwargs = dict(encoder_hidden_states=context, pooled_projections=pooled, timestep=t, img_ids=ids,
                  txt_ids=txt_ids, guidance=guidance)
    with torch.no_grad():
        extra = {"controlnet_mode": torch.tensor([[mode]])} if mode is not None else {}
        double, single = net(hidden_states=pack(x_in), controlnet_cond=cond, conditioning_scale=strength,
                             return_dict=False, **kwargs, **extra)
        raw = main(hidden_states=pack(x_in), controlnet_block_samples=double, controlnet_single_block_samples=single,
                   controlnet_blocks_repeat=repeat, return_dict=False, **kwargs)[0]
    from inkgraph.nodes.diffusion.families.flux import unpack

    return FLOW.calculate_denoised(s, unpack(raw, 16, *x.shape[-2:]), x)


def test_flux_union_controlnet_equals_diffusers_flux_controlnet_pipeline(manager: ModelManager, files: Any) -> None:
    main = td.flux("dev", 1).requires_grad_(False)
    net = files["flux-union"][0]
    vae = FakeVae(16)
    typed = nodes.SetUnionControlNetType(ControlNet(load(manager, files["flux-union"][1])), "depth")
    context, pooled = text(1, td.CONTEXT), torch.randn(1, td.POOLED)
    entry = [[context, {"pooled_output": pooled}]]
    pos, _ = nodes.ControlNetApplyAdvanced(entry, entry, typed, image(3), 0.7, 0.0, 1.0, vae)
    x = torch.randn(1, 16, 8, 8, generator=torch.Generator().manual_seed(4))
    out, _ = one_call(main, FluxAdapter(FLUX_LATENT), FLOW, FLUX_LATENT, BasicGuider(_FluxModel(), pos), x, 0.6)
    hint = FLUX_LATENT.process_in(vae.encode(image(3)))
    expected = flux_reference(main, net, x, 0.6, pack(hint), context, pooled, 1, 0.7, False)
    assert torch.allclose(out, expected, atol=1e-5)


def test_xlabs_controlnet_equals_diffusers_with_its_blocks_cycled(manager: ModelManager, files: Any) -> None:
    main = td.flux("dev", 1).requires_grad_(False)
    net = files["flux-xlabs"][0]
    context, pooled = text(1, td.CONTEXT), torch.randn(1, td.POOLED)
    xlabs = ControlNet(load(manager, files["flux-xlabs"][1]))
    pos = nodes.ControlNetApply([[context, {"pooled_output": pooled}]], xlabs, image(3), 1.0)
    x = torch.randn(1, 16, 8, 8, generator=torch.Generator().manual_seed(4))
    out, _ = one_call(main, FluxAdapter(FLUX_LATENT), FLOW, FLUX_LATENT, BasicGuider(_FluxModel(), pos), x, 0.6)
    hint = image(3).movedim(-1, 1) * 2 - 1
    assert torch.allclose(out, flux_reference(main, net, x, 0.6, hint, context, pooled, None, 1.0, True), atol=1e-5)


class _FluxModel:  # what the runner asks of a MODEL handle: its family's latent format and name
    class family:  # noqa: N801
        kind = "flux"
        latent_format = FLUX_LATENT


def test_residuals_are_added_over_the_image_tokens_only() -> None:
    block = torch.nn.Identity()
    hidden = torch.zeros(2, 6, 3)

    class Pair(torch.nn.Module):
        def forward(self, h: torch.Tensor) -> tuple[None, torch.Tensor]:
            return None, h

    pair = Pair()
    with block_residuals([pair], [torch.ones(2, 4, 3)]):
        _, out = pair(hidden)
    assert torch.equal(out[:, :4], torch.ones(2, 4, 3)) and torch.equal(out[:, 4:], torch.zeros(2, 2, 3))
    assert torch.equal(pair(hidden)[1], hidden) and block(hidden) is hidden  # the hook is gone afterwards
    assert repeat_blocks([torch.zeros(1), torch.ones(1)], 5) == [torch.zeros(1)] * 3 + [torch.ones(1)] * 2
    assert [float(t) for t in repeat_blocks([torch.zeros(1), torch.ones(1)], 5, cyclic=True)] == [0, 1, 0, 1, 0]


# -- SD3.5 ---------------------------------------------------------------------------------------------------

SD3_FLOW = ms.combine(ms.ModelSamplingDiscreteFlow, ms.CONST, shift=3.0, multiplier=1000)


class _SD3Model:
    class family:  # noqa: N801
        kind = "sd3"
        latent_format = SD3_LATENT


def test_sd35_controlnet_residuals_and_their_place_in_the_joint_blocks(manager: ModelManager, files: Any) -> None:
    main = tc.sd3_main(1).requires_grad_(False)
    net = files["sd3.5-canny"][0]
    cnet = ControlNet(load(manager, files["sd3.5-canny"][1]))
    vae = FakeVae(16)
    context, pooled = text(1, td.CONTEXT), torch.randn(1, tc.SD35_POOLED)
    entry = [[context, {"pooled_output": pooled}]]
    pos, _ = nodes.ControlNetApplyAdvanced(entry, entry, cnet, image(3), 0.9, 0.0, 1.0, vae)
    x = torch.randn(1, 16, 8, 8, generator=torch.Generator().manual_seed(4))
    seen: list[Any] = []
    adapter = SD3Adapter()
    original = adapter.apply

    def spy(module: Any, x_in: torch.Tensor, timestep: torch.Tensor, conds: dict[str, Any]) -> torch.Tensor:
        call = conds["control"]
        seen.append(call(ControlInputs("sd3", x_in, timestep, module, {"context": conds["context"],
                                                                        "pooled": conds["pooled"]}, {"blocks": 4})))
        return original(module, x_in, timestep, conds)

    adapter.apply = spy  # type: ignore[method-assign]
    out, _ = one_call(main, adapter, SD3_FLOW, SD3_LATENT, BasicGuider(_SD3Model(), pos), x, 0.5)
    s = torch.tensor([0.5])
    x_in, t = SD3_FLOW.calculate_input(s, x), SD3_FLOW.timestep(s).float()
    canny = image(3) * 255 * 0.5 + 0.5  # ComfyUI's preprocessing of the canny ControlNet's hint
    hint = SD3_LATENT.process_in(vae.encode(canny))
    with torch.no_grad():
        hidden = main.pos_embed.proj(x_in).flatten(2).transpose(1, 2) + sincos_positions(64, 4, 4, x.device, x.dtype)
        (samples,) = net(hidden_states=hidden, controlnet_cond=hint, pooled_projections=pooled, timestep=t,
                         return_dict=False)
    residuals = seen[0]["blocks"]
    assert len(residuals) == 4
    for got, want in zip(residuals, [samples[0], samples[0], samples[1], samples[1]], strict=True):
        assert torch.allclose(got, want * 0.9, atol=1e-5)
    # the residuals of all but the last block enter as diffusers adds them; the last block's after it
    with torch.no_grad(), block_residuals(main.transformer_blocks[3:], residuals[3:]):
        raw = main(hidden_states=x_in, encoder_hidden_states=context, pooled_projections=pooled, timestep=t,
                   block_controlnet_hidden_states=residuals[:3] + [residuals[2]], return_dict=False)[0]
    assert torch.allclose(out, SD3_FLOW.calculate_denoised(s, raw, x), atol=1e-5)


def test_sincos_positions_follow_comfyui_grid() -> None:
    table = sincos_positions(8, 3, 2, torch.device("cpu"), torch.float32)[0]
    assert table.shape == (6, 8)
    # the shorter side (2 rows) spans 7.5 ± 7.5 = 0, 15; the 3 columns 7.5 ± 11.25 = -3.75, 7.5, 18.75;
    # frequencies 1 and 1/100; the column's embedding first, each sin then cos
    def embed(p: float) -> list[float]:
        return [math.sin(p), math.sin(p / 100), math.cos(p), math.cos(p / 100)]

    assert torch.allclose(table[0], torch.tensor(embed(-3.75) + embed(0.0)), atol=1e-6)
    assert torch.allclose(table[5], torch.tensor(embed(18.75) + embed(15.0)), atol=1e-6)


# -- Qwen-Image (the ControlNet side; the family's adapter arrives separately) -------------------------------

@pytest.mark.parametrize("case", ["qwen-instantx", "qwen-inpaint"])
def test_qwen_image_instantx_residuals_equal_the_diffusers_controlnet(manager: ModelManager, files: Any,
                                                                      case: str) -> None:
    from inkgraph.nodes.diffusion.control.run import ControlRun
    from inkgraph.nodes.diffusion.families.base import LatentFormat

    net = files[case][0]
    cnet = ControlNet(load(manager, files[case][1]))
    vae = FakeVae(16)
    latent = LatentFormat(16, 1.0)
    mask = torch.zeros(1, 64, 64)
    mask[:, :, :32] = 1.0
    entry = [[text(1, 48), {}]]
    if case == "qwen-inpaint":
        pos, _ = nodes.ControlNetInpaintingAliMamaApply(entry, entry, cnet, vae, image(3), mask, 1.0, 0.0, 1.0)
    else:
        pos, _ = nodes.ControlNetApplyAdvanced(entry, entry, cnet, image(3), 1.0, 0.0, 1.0, vae)
    applied = pos[0][1]["control"]
    x = torch.randn(1, 16, 8, 8)
    tokens = pack(x)
    run = ControlRun({cnet.model.key: manager.get(cnet.model.key, lambda: None)}, FLOW, latent, x.device, x.dtype)
    call = run.call(applied, torch.tensor([0.5]), 1)
    inputs = ControlInputs("qwen_image", x, torch.tensor([0.5]), None,
                           {"tokens": tokens, "context": entry[0][0], "img_shapes": [[(1, 4, 4)]]}, {"blocks": 4})
    with torch.no_grad():
        residuals = call(inputs)["blocks"]
        picture = image(3)
        if case == "qwen-inpaint":
            keep = 1.0 - mask
            picture = picture * keep[..., None]
        hint = latent.process_in(vae.encode(picture))
        if case == "qwen-inpaint":
            hint = torch.cat([hint, F.interpolate(keep[None], size=(8, 8), mode="nearest-exact")], dim=1)
        samples = net(hidden_states=tokens, controlnet_cond=pack(hint), encoder_hidden_states=entry[0][0],
                      timestep=torch.tensor([0.5]), img_shapes=[[(1, 4, 4)]], return_dict=False)
    assert len(residuals) == 4
    for got, want in zip(residuals, [samples[0], samples[0], samples[1], samples[1]], strict=True):
        assert torch.allclose(got, want, atol=1e-5)


def test_a_controlnet_of_another_family_is_refused(manager: ModelManager, files: Any, sd1_unet: Any) -> None:
    pos = nodes.ControlNetApply([[text(1, 32), {}]], ControlNet(load(manager, files["flux-xlabs"][1])), image(3), 1.0)
    x = torch.randn(1, 4, 8, 8)
    with pytest.raises(ValueError, match="flux_xlabs ControlNet; it cannot drive a model of the 'unet' kind"):
        one_call(sd1_unet, UNetAdapter(), EPS, None, BasicGuider(None, pos), x, 2.0)


def test_a_latent_controlnet_without_a_vae_says_so(manager: ModelManager, files: Any) -> None:
    main = td.flux("dev", 1).requires_grad_(False)
    pos = nodes.ControlNetApply([[text(1, td.CONTEXT), {"pooled_output": torch.randn(1, td.POOLED)}]],
                                ControlNet(load(manager, files["flux-union"][1])), image(3), 1.0)
    with pytest.raises(ValueError, match="needs a VAE but none was provided"):
        one_call(main, FluxAdapter(FLUX_LATENT), FLOW, FLUX_LATENT, BasicGuider(_FluxModel(), pos),
                 torch.randn(1, 16, 8, 8), 0.5)



def test_a_diff_controlnet_gets_the_models_weights_added(tmp_path: Path, manager: ModelManager, sd1_unet: Any) -> None:
    from inkgraph.nodes.diffusion.families.base import Family
    from inkgraph.nodes.diffusion.handles import ModelHandle
    from inkgraph.nodes.diffusion.ldm_format import unet_diffusers_to_ldm

    net = tc.sd1_controlnet(9)
    base = unet_diffusers_to_ldm(sd1_unet.state_dict(), sd1_unet.config, prefix="")
    state = tc.controlnet_ldm_state(net)
    diff = {k: (v - base[k.removeprefix("control_model.")] if k.removeprefix("control_model.") in base else v)
            for k, v in state.items()}
    shared = [k for k in state if k.removeprefix("control_model.") in base]
    assert len(shared) > 20
    path = tc.save({**diff, "difference": torch.tensor([])}, tmp_path / "diff_control_sd15_canny.safetensors")
    manager.add("tiny-sd1-unet", sd1_unet)
    loaded = load(manager, path, ModelHandle(manager, "tiny-sd1-unet", Family("sd1")))
    with loaded.use() as got:
        assert all(torch.allclose(got.state_dict()[k], v, atol=1e-6) for k, v in net.state_dict().items())
    alone = load(manager, path)  # without a model: loaded as it is (ComfyUI warns, as here)
    with alone.use() as got:
        assert not torch.allclose(got.state_dict()["conv_in.weight"], net.state_dict()["conv_in.weight"])
