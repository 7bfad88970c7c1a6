"""Model options and the patches on classifier-free guidance, against hand-computed results.

A toy network makes every prediction known in closed form: out = w·x_in + v (v the entry's value), so an
ε-model's entry predicts D = x − (w·x/√(σ²+1) + v)·σ. RescaleCFG, CFG-Zero*, APG and LatentApplyOperationCFG
are checked against their published formulas on those predictions; the hooks against the argument dicts
ComfyUI gives them.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from inkgraph.nodes import model_patches as mp
from inkgraph.nodes.diffusion import model_sampling as ms
from inkgraph.nodes.diffusion.guidance import CFGGuider, Denoiser, denoiser_for
from inkgraph.nodes.diffusion.patches.guidance_patches import optimized_scale, project
from inkgraph.nodes.diffusion.patches.options import ModelOptions, WrapperExecutor, WrappersMP, model_options_of
from inkgraph.nodes.diffusion.patches.support import PatchNotSupported
from inkgraph.nodes.latent_ops import LatentApplyOperationCFG
from tests.fixtures.toy_diffusion import ToyAdapter, ToyModel, ToyNetwork, cond

EPS = ms.discrete("epsilon")
W, POS, NEG, CFG, SIGMA = 0.5, 2.0, -1.0, 4.0, 3.0
SHAPE = (2, 3, 4, 4)


def predicted(x: torch.Tensor, sigma: float, value: float) -> torch.Tensor:
    return x - (W * x / math.sqrt(sigma ** 2 + 1) + value) * sigma


def x_of(shape: tuple[int, ...] = SHAPE) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(0))


def toy() -> ToyModel:
    return ToyModel(ToyNetwork(W))


def denoiser(model: Any, cfg: float = CFG, network: Any = None) -> Denoiser:
    guider = CFGGuider(model, cond(POS), cond(NEG), cfg)
    return denoiser_for(network or ToyNetwork(W), EPS, guider, SHAPE, ToyAdapter())


def run(model: Any, cfg: float = CFG, sigma: float = SIGMA) -> torch.Tensor:
    with torch.inference_mode():
        return denoiser(model, cfg)(x_of(), torch.tensor(sigma))


def test_model_options_are_frozen_and_comfyui_shaped() -> None:
    def fn(args: Any) -> Any:
        return args["denoised"]

    base = ModelOptions()
    one = base.with_post_cfg_function(fn, disable_cfg1_optimization=True).with_patch("attn1_patch", fn)
    two = one.with_patch_replace("attn1", "middle", 0, fn, transformer_index=1).with_wrapper("outer_sample", "k", fn)
    assert base.as_dict() == {"transformer_options": {}}
    assert one.as_dict() == {"sampler_post_cfg_function": [fn], "disable_cfg1_optimization": True,
                             "transformer_options": {"patches": {"attn1_patch": [fn]}}}
    assert two.as_dict()["transformer_options"]["patches_replace"] == {"attn1": {("middle", 0, 1): fn}}
    assert two.as_dict()["transformer_options"]["wrappers"] == {"outer_sample": {"k": [fn]}}
    mutable = two.as_dict()
    mutable["sampler_post_cfg_function"].append(fn)
    mutable["transformer_options"]["patches"]["attn1_patch"].clear()
    assert len(two.as_dict()["sampler_post_cfg_function"]) == 1  # a copy: the handle's options are untouched
    assert two.as_dict()["transformer_options"]["patches"]["attn1_patch"] == [fn]
    with pytest.raises(TypeError):
        two.data["x"] = 1  # type: ignore[index]
    assert ModelOptions.from_dict(two.as_dict()).as_dict() == two.as_dict()
    values = ModelOptions().with_transformer_option("t", (1, 2)).as_dict()["transformer_options"]["t"]
    assert values == (1, 2)  # tuples stay tuples


def test_wrapper_executor_chains_in_order() -> None:
    calls: list[str] = []

    def wrapper(name: str) -> Any:
        def wrapped(executor: WrapperExecutor, value: int) -> int:
            calls.append(name)
            return int(executor(value + 1)) * 10

        return wrapped

    executor = WrapperExecutor.new_executor(lambda value: value, [wrapper("a"), wrapper("b")])
    assert executor.execute(1) == 300 and calls == ["a", "b"]  # (1 + 1 + 1)·10·10


def test_patch_nodes_leave_their_input_model_alone() -> None:
    model = toy()
    patched = mp.CFGZeroStar(model)
    assert not model_options_of(model) and model_options_of(patched).get("sampler_post_cfg_function")
    assert patched.network is model.network  # the same weights


def test_hooks_get_comfyui_argument_dicts() -> None:
    seen: dict[str, Any] = {}

    def pre(args: dict[str, Any]) -> Any:
        seen["pre"] = args
        return args["conds_out"]

    def cfg_fn(args: dict[str, Any]) -> Any:
        seen["cfg"] = args
        return args["cond"]  # x − cond_pred: the positive alone

    def post(args: dict[str, Any]) -> Any:
        seen["post"] = args
        return args["denoised"]

    def wrapper(apply_model: Any, params: dict[str, Any]) -> Any:
        seen["wrapper"] = params
        return apply_model(params["input"], params["timestep"], **params["c"])

    options = (ModelOptions().with_pre_cfg_function(pre).with_cfg_function(cfg_fn).with_post_cfg_function(post)
               .with_option("model_function_wrapper", wrapper))
    model = ToyModel(ToyNetwork(W), model_options=options)
    x = x_of()
    out = run(model)
    assert set(seen["pre"]) == {"conds", "conds_out", "cond_scale", "timestep", "input", "sigma", "model",
                                "model_options"}
    assert set(seen["cfg"]) == {"cond", "uncond", "cond_scale", "timestep", "input", "sigma", "cond_denoised",
                                "uncond_denoised", "model", "model_options"}
    assert set(seen["post"]) == {"denoised", "cond", "uncond", "cond_scale", "model", "uncond_denoised",
                                 "cond_denoised", "sigma", "model_options", "input"}
    assert set(seen["wrapper"]) == {"input", "timestep", "c", "cond_or_uncond"}
    transformer_options = seen["wrapper"]["c"]["transformer_options"]
    assert transformer_options["cond_or_uncond"] == [0, 1] and len(transformer_options["uuids"]) == 2
    assert torch.equal(transformer_options["sigmas"], torch.full((2,), SIGMA))
    assert seen["post"]["cond_scale"] == CFG and torch.equal(seen["post"]["input"], x)
    assert torch.allclose(out, predicted(x, SIGMA, POS), atol=1e-5)  # the cfg function took the positive
    assert torch.allclose(seen["post"]["uncond_denoised"], predicted(x, SIGMA, NEG), atol=1e-5)


def test_cfg1_skips_the_negative_unless_a_hook_needs_it() -> None:
    network = ToyNetwork(W)
    with torch.inference_mode():
        d = denoiser(toy(), cfg=1.0, network=network)
        d(x_of(), torch.tensor(SIGMA))
        assert len(network.timesteps[-1]) == SHAPE[0]  # the positive alone
        keep = ModelOptions().with_post_cfg_function(lambda args: args["denoised"], disable_cfg1_optimization=True)
        d = denoiser(ToyModel(network, model_options=keep), cfg=1.0, network=network)
        d(x_of(), torch.tensor(SIGMA))
        assert len(network.timesteps[-1]) == 2 * SHAPE[0]  # disable_cfg1_optimization: both in one call


def test_rescale_cfg_formula() -> None:
    x = x_of()
    dc, du = predicted(x, SIGMA, POS), predicted(x, SIGMA, NEG)
    # by hand: v = (x/(σ²+1) − D)·√(σ²+1)/σ; CFG on v; rescaled to the positive's std; back to D
    s2 = SIGMA ** 2 + 1
    vc, vu = (x / s2 - dc) * math.sqrt(s2) / SIGMA, (x / s2 - du) * math.sqrt(s2) / SIGMA
    v_cfg = vu + CFG * (vc - vu)
    rescaled = v_cfg * vc.std(dim=(1, 2, 3), keepdim=True) / v_cfg.std(dim=(1, 2, 3), keepdim=True)
    for multiplier in (0.0, 0.7, 1.0):
        v_final = multiplier * rescaled + (1 - multiplier) * v_cfg
        expected = x / s2 - v_final * SIGMA / math.sqrt(s2)
        assert torch.allclose(run(mp.RescaleCFG(toy(), multiplier=multiplier)), expected, atol=1e-4)
    assert torch.allclose(run(mp.RescaleCFG(toy(), multiplier=0.0)), du + CFG * (dc - du), atol=1e-4)


def test_cfg_zero_star_projection() -> None:
    x = torch.zeros(1, 1, 2, 2)
    dc, du = torch.full_like(x, 3.0), torch.full_like(x, 2.0)
    assert float(optimized_scale(x - dc, x - du)) == pytest.approx(1.5)  # ⟨−3,−2⟩·4 / (4·4) = 24/16
    x = x_of()
    dc, du = predicted(x, SIGMA, POS), predicted(x, SIGMA, NEG)
    p, n = (x - dc).flatten(1), (x - du).flatten(1)
    alpha = ((p * n).sum(1) / (n * n).sum(1)).view(-1, 1, 1, 1)
    expected = alpha * du + CFG * (dc - alpha * du)  # CFG with the negative scaled by s*
    assert torch.allclose(run(mp.CFGZeroStar(toy())), expected, atol=1e-4)


def test_apg_parallel_and_orthogonal_split() -> None:
    v0 = torch.tensor([3.0, 4.0, 0.0, 0.0]).view(1, 1, 2, 2)
    v1 = torch.tensor([2.0, 0.0, 0.0, 0.0]).view(1, 1, 2, 2)
    parallel, orthogonal = project(v0, v1)
    assert parallel.flatten().tolist() == [3.0, 0.0, 0.0, 0.0] and orthogonal.flatten().tolist() == [0.0, 4.0, 0.0, 0.0]
    x = x_of()
    dc, du = predicted(x, SIGMA, POS), predicted(x, SIGMA, NEG)
    g = dc - du
    unit = dc / dc.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    g_par = (g * unit).sum(dim=(1, 2, 3), keepdim=True) * unit
    g_orth = g - g_par
    # ComfyUI's APG replaces the positive by uncond + g' + g/cfg, so its CFG result is cond + cfg·g'
    for eta in (0.0, 0.5, 1.0):
        expected = dc + CFG * (g_orth + eta * g_par)
        assert torch.allclose(run(mp.APG(toy(), eta=eta, norm_threshold=0.0, momentum=0.0)), expected, atol=1e-4)
    norm = g.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    capped = g * torch.clamp(0.5 / norm, max=1.0)
    c_unit_par = (capped * unit).sum(dim=(1, 2, 3), keepdim=True) * unit
    expected = dc + CFG * ((capped - c_unit_par) + 0.5 * c_unit_par)
    assert torch.allclose(run(mp.APG(toy(), eta=0.5, norm_threshold=0.5, momentum=0.0)), expected, atol=1e-4)


def test_apg_momentum_averages_over_steps_and_resets_on_a_new_run() -> None:
    model = mp.APG(toy(), eta=1.0, norm_threshold=0.0, momentum=0.5)
    x = x_of()
    g = {s: predicted(x, s, POS) - predicted(x, s, NEG) for s in (3.0, 2.0)}
    with torch.inference_mode():
        d = denoiser(model)
        d(x, torch.tensor(3.0))
        second = d(x, torch.tensor(2.0))
        again = denoiser(model)(x, torch.tensor(3.0))  # σ went up: a new run, the average starts over
    assert torch.allclose(second, predicted(x, 2.0, POS) + CFG * (0.5 * g[3.0] + g[2.0]), atol=1e-4)
    assert torch.allclose(again, predicted(x, 3.0, POS) + CFG * g[3.0], atol=1e-4)


def test_latent_apply_operation_cfg_and_stacking() -> None:
    class Times:
        def __init__(self, k: float) -> None:
            self.k = k

        def __call__(self, latent: torch.Tensor, **kwargs: Any) -> torch.Tensor:
            return latent * self.k

    x = x_of()
    dc, du = predicted(x, SIGMA, POS), predicted(x, SIGMA, NEG)
    once = LatentApplyOperationCFG(toy(), Times(2.0))
    assert torch.allclose(run(once), du + CFG * 2.0 * (dc - du), atol=1e-4)
    twice = LatentApplyOperationCFG(once, Times(3.0))  # two stacked nodes: both apply, in order
    assert torch.allclose(run(twice), du + CFG * 6.0 * (dc - du), atol=1e-4)
    assert torch.allclose(run(mp.CFGZeroStar(twice)), run(mp.CFGZeroStar(LatentApplyOperationCFG(toy(), Times(6.0)))))
    with pytest.raises(ValueError, match="LATENT_OPERATION"):
        LatentApplyOperationCFG(toy(), 3)


def test_neutral_settings() -> None:
    base = run(toy())
    assert torch.equal(run(mp.PerturbedAttentionGuidance(toy(), scale=0.0)), base)  # needs no attention patch
    assert torch.allclose(run(mp.RescaleCFG(toy(), multiplier=0.0)), base, atol=1e-4)
    # ComfyUI's APG at eta 1 without normalisation is CFG one step stronger (see test_apg_…)
    assert torch.allclose(run(mp.APG(toy(), eta=1.0, norm_threshold=0.0)), run(toy(), cfg=CFG + 1), atol=1e-4)


def test_patches_a_family_cannot_run_fail_before_sampling() -> None:
    for node, name, kind in ((lambda m: mp.PerturbedAttentionGuidance(m, scale=1.0), "PerturbedAttentionGuidance",
                              "'attn1'"),
                             (lambda m: mp.TomePatchModel(m, ratio=0.5), "TomePatchModel", "'attn1_patch'"),
                             (lambda m: mp.PatchModelAddDownscale(m, downscale_method="bicubic",
                                                                  upscale_method="bicubic"),
                              "PatchModelAddDownscale", "'input_block_patch_after_skip'")):
        with pytest.raises(PatchNotSupported, match=f"{name} needs .*{kind}.*'toy' model family"):
            denoiser(node(toy()))
    with pytest.raises(ValueError, match="FreeU patches a UNet's decoder blocks; the 'toy' model has no UNet"):
        mp.FreeU(toy())


def test_easycache_and_lazycache_on_the_toy_model_skip_calls() -> None:
    """Through a whole run: LazyCache works on any model (it caches the guided prediction)."""
    from inkgraph.nodes.diffusion.ksampler import run_sampler
    from inkgraph.nodes.diffusion.samplers import sampler_object
    from inkgraph.nodes.diffusion.schedules import sampling_sigmas
    from tests.fixtures.toy_diffusion import Ctx

    def sample(model: Any) -> tuple[torch.Tensor, int]:
        sigmas = sampling_sigmas(EPS, "normal", "euler", 12)
        latent = {"samples": torch.zeros(1, 3, 4, 4)}
        noise = torch.randn(1, 3, 4, 4, generator=torch.Generator().manual_seed(3))
        network = model.network
        network.timesteps.clear()
        with torch.inference_mode():
            out, _ = run_sampler(Ctx(), CFGGuider(model, cond(POS), cond(NEG), CFG), sampler_object("euler"), sigmas,
                                 noise, latent, 3)
        return out["samples"], len(network.timesteps)

    base, calls = sample(toy())
    assert calls == 12
    for node in (mp.LazyCacheNode, mp.EasyCacheNode):
        same, same_calls = sample(node(toy(), reuse_threshold=0.0, start_percent=0.0, end_percent=1.0))
        assert torch.equal(same, base) and same_calls == calls  # threshold 0: nothing is reused
        fast, fast_calls = sample(node(toy(), reuse_threshold=1.0, start_percent=0.2, end_percent=0.9))
        assert fast_calls < calls and torch.isfinite(fast).all()
    assert WrappersMP.OUTER_SAMPLE in model_options_of(mp.EasyCacheNode(toy())).as_dict()["transformer_options"][
        "wrappers"]


def test_wrappers_are_called_with_comfyui_arguments() -> None:
    from inkgraph.nodes.diffusion.ksampler import SamplingRun, run_sampler
    from inkgraph.nodes.diffusion.samplers import sampler_object
    from inkgraph.nodes.diffusion.schedules import sampling_sigmas
    from tests.fixtures.toy_diffusion import Ctx

    seen: dict[str, Any] = {}

    def record(point: str) -> Any:
        def wrapper(executor: WrapperExecutor, *args: Any, **kwargs: Any) -> Any:
            seen.setdefault(point, (executor.class_obj, args))
            return executor(*args, **kwargs)

        return wrapper

    options = ModelOptions()
    for point in (WrappersMP.OUTER_SAMPLE, WrappersMP.PREDICT_NOISE, WrappersMP.CALC_COND_BATCH,
                  WrappersMP.DIFFUSION_MODEL):
        options = options.with_wrapper(point, "test", record(point))
    model = ToyModel(ToyNetwork(W), model_options=options)
    sigmas = sampling_sigmas(EPS, "normal", "euler", 3)
    with torch.inference_mode():
        out, _ = run_sampler(Ctx(), CFGGuider(model, cond(POS), cond(NEG), CFG), sampler_object("euler"), sigmas,
                             torch.zeros(1, 3, 4, 4), {"samples": torch.zeros(1, 3, 4, 4)}, 11)
        plain, _ = run_sampler(Ctx(), CFGGuider(toy(), cond(POS), cond(NEG), CFG), sampler_object("euler"), sigmas,
                               torch.zeros(1, 3, 4, 4), {"samples": torch.zeros(1, 3, 4, 4)}, 11)
    assert torch.equal(out["samples"], plain["samples"])  # wrappers that only pass through change nothing
    run, args = seen[WrappersMP.OUTER_SAMPLE]
    assert isinstance(run, SamplingRun) and run.model_patcher is model and "transformer_options" in run.model_options
    assert len(args) == 8 and torch.equal(args[3], sigmas) and args[7] == 11  # (noise, latent, sampler, sigmas,
    # denoise_mask, callback, disable_pbar, seed)
    _, (x, sigma, model_options) = seen[WrappersMP.PREDICT_NOISE]
    assert x.shape == (1, 3, 4, 4) and sigma.shape == (1,) and model_options is run.model_options
    _, (runner, conds, x, sigma, model_options) = seen[WrappersMP.CALC_COND_BATCH]
    assert len(conds) == 2 and runner.model_options is model_options
    _, (x_in, timestep, tensors, transformer_options) = seen[WrappersMP.DIFFUSION_MODEL]
    assert x_in.shape == (2, 3, 4, 4) and set(tensors) == {"context"}
    assert transformer_options["cond_or_uncond"] == [0, 1] and transformer_options["original_shape"] == [2, 3, 4, 4]


def test_denoise_mask_function_and_dual_cfg_take_the_hooks() -> None:
    from inkgraph.nodes.diffusion.guidance import DualCFGGuider, Inpaint

    x = x_of()
    seen: list[Any] = []

    def mask_fn(sigma: torch.Tensor, mask: torch.Tensor, extra_options: dict[str, Any]) -> torch.Tensor:
        seen.append((float(sigma[0]), extra_options["model"] is not None))
        return torch.ones_like(mask)  # repaint everywhere

    model = ToyModel(ToyNetwork(W), model_options=ModelOptions().with_option("denoise_mask_function", mask_fn))
    guider = CFGGuider(model, cond(POS), cond(NEG), CFG)
    inpaint = Inpaint(torch.zeros(SHAPE), torch.zeros(SHAPE), torch.zeros(SHAPE))  # keep everything …
    with torch.inference_mode():
        out = denoiser_for(ToyNetwork(W), EPS, guider, SHAPE, ToyAdapter(), inpaint)(x, torch.tensor(SIGMA))
        plain = denoiser(toy())(x, torch.tensor(SIGMA))
    assert seen == [(SIGMA, True)] and torch.allclose(out, plain)  # … but the hook said repaint everything
    posts: list[float] = []
    counted = ToyModel(ToyNetwork(W), model_options=ModelOptions().with_post_cfg_function(
        lambda args: (posts.append(args["cond_scale"]), args["denoised"])[1]))
    dual = DualCFGGuider(counted, cond(POS), cond(0.5), cond(NEG), 3.0, 2.0)
    with torch.inference_mode():
        denoiser_for(ToyNetwork(W), EPS, dual, SHAPE, ToyAdapter())(x, torch.tensor(SIGMA))
    assert posts == [2.0]  # cfg_function of the second guidance, as ComfyUI's DualCFGGuider
