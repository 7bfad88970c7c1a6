"""Attention and block patches on diffusers' UNet (tiny SD1/SD2/SDXL models built in code): ComfyUI's block
names, where each patch point is called, the patch nodes against hand-computed results, their neutral
settings, stacking, and that a patched MODEL leaves the original's results and the shared module untouched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import torch

from inkgraph.nodes import model_patches as mp
from inkgraph.nodes.diffusion.guidance import CFGGuider, denoiser_for
from inkgraph.nodes.diffusion.ksampler import run_sampler
from inkgraph.nodes.diffusion.ldm_format import unet_diffusers_to_ldm
from inkgraph.nodes.diffusion.model_api import model_sampling_of
from inkgraph.nodes.diffusion.patches import unet_patches as up
from inkgraph.nodes.diffusion.patches.guidance_patches import create_blur_map
from inkgraph.nodes.diffusion.patches.options import ModelOptions, model_options_of
from inkgraph.nodes.diffusion.patches.unet_hooks import layout_of
from inkgraph.nodes.diffusion.samplers import sampler_object
from inkgraph.nodes.diffusion.schedules import sampling_sigmas
from inkgraph.nodes.diffusion.unet import UNetAdapter
from tests.fixtures.tiny_sd import build
from tests.fixtures.toy_diffusion import Ctx, ToyModel

WIDTH = {"sd1": 32, "sd2v": 32, "sdxl": 80}


@dataclass
class UNetFamily:
    kind: str = "sd1"
    prediction: str = "epsilon"
    latent_scale: float = 1.0
    adapter: Any = field(default_factory=UNetAdapter)
    configs: dict[str, Any] = field(default_factory=dict)
    model_sampling: Any = None


@pytest.fixture(scope="module")
def unets() -> dict[str, Any]:
    return {kind: build(kind)["unet"].eval() for kind in WIDTH}


def handle(unet: Any, kind: str = "sd1") -> ToyModel:
    return ToyModel(unet, UNetFamily(kind=kind, configs={"unet": dict(unet.config)}))  # type: ignore[arg-type]


def prompts(kind: str = "sd1") -> tuple[list[Any], list[Any]]:
    g = torch.Generator().manual_seed(7)
    width = WIDTH[kind]
    return [[torch.randn(1, 77, width, generator=g), {}]], [[torch.randn(1, 77, width, generator=g), {}]]


def sample(model: Any, kind: str = "sd1", size: int = 8, steps: int = 4, cfg: float = 5.0, seed: int = 1
           ) -> torch.Tensor:
    positive, negative = prompts(kind)
    sigmas = sampling_sigmas(model_sampling_of(model), "normal", "euler", steps)
    noise = torch.randn(1, 4, size, size, generator=torch.Generator().manual_seed(seed))
    with torch.inference_mode():
        out, _ = run_sampler(Ctx(), CFGGuider(model, positive, negative, cfg), sampler_object("euler"), sigmas, noise,
                             {"samples": torch.zeros(1, 4, size, size)}, seed)
    return out["samples"]


def one_call(model: Any, sigma: float = 5.0, kind: str = "sd1", size: int = 8) -> tuple[torch.Tensor, Any]:
    positive, negative = prompts(kind)
    d = denoiser_for(model.network, model_sampling_of(model), CFGGuider(model, positive, negative, 5.0),
                     (1, 4, size, size), UNetAdapter())
    x = torch.randn(1, 4, size, size, generator=torch.Generator().manual_seed(2)) * sigma
    with torch.inference_mode():
        return d(x, torch.tensor(sigma)), d


def with_options(model: ToyModel, edit: Any) -> ToyModel:
    from dataclasses import replace

    return replace(model, model_options=edit(model_options_of(model)))


@pytest.fixture(scope="module")
def base(unets: dict[str, Any]) -> torch.Tensor:
    return sample(handle(unets["sd1"]))


# -- block names ----------------------------------------------------------------------------------------

def _ldm(unet: Any, name: str) -> str:
    key = next(k for k, _ in unet.named_parameters() if k.startswith(name + "."))
    (ldm,) = unet_diffusers_to_ldm({key: None}, unet.config, prefix="")
    return ldm


@pytest.mark.parametrize("kind", list(WIDTH))
def test_layout_uses_comfyui_block_names(unets: dict[str, Any], kind: str) -> None:
    """Our names agree with the LDM layout the same weights have in a checkpoint file."""
    unet = unets[kind]
    names = {id(m): n for n, m in unet.named_modules()}
    layout = layout_of(unet)
    for block_id, module in layout.inputs:
        assert re.match(rf"input_blocks\.{block_id}\.", _ldm(unet, names[id(module)]))
    assert [i for i, _ in layout.inputs] == list(range(len(layout.inputs)))
    for module, kind_, (block, number), index in layout.attentions:
        stem = "middle_block.1" if block == "middle" else f"{block}_blocks.{number}.1"
        assert _ldm(unet, names[id(module)]).startswith(f"{stem}.transformer_blocks.{index}.{kind_}.")
    first_ids = [first for _, first, _ in layout.ups]
    assert first_ids == sorted(first_ids) and first_ids[0] == 0


def test_every_patch_point_is_called_with_comfyui_names(unets: dict[str, Any]) -> None:
    seen: dict[str, list[Any]] = {}

    def record(point: str) -> Any:
        def block(h: torch.Tensor, *rest: Any) -> Any:
            options = rest[-1]
            seen.setdefault(point, []).append(options["block"])
            return (h, rest[0]) if point == "output_block_patch" else h

        def attn(n: torch.Tensor, context: torch.Tensor, value: torch.Tensor, extra: dict[str, Any]) -> Any:
            seen.setdefault(point, []).append((*extra["block"], extra["block_index"], extra["n_heads"], n.shape[1]))
            assert {"original_shape", "cond_or_uncond", "uuids", "sigmas", "dim_head"} <= set(extra)
            return n, context, value

        def out(n: torch.Tensor, extra: dict[str, Any]) -> torch.Tensor:
            seen.setdefault(point, []).append(extra["block"])
            return n

        return {"attn1_patch": attn, "attn2_patch": attn, "attn1_output_patch": out}.get(point, block)

    options = ModelOptions()
    for point in ("input_block_patch", "input_block_patch_after_skip", "middle_block_patch", "output_block_patch",
                  "attn1_patch", "attn2_patch", "attn1_output_patch"):
        options = options.with_patch(point, record(point))
    plain = handle(unets["sd1"])
    recorded = ToyModel(plain.network, plain.family, model_options=options)
    reference, _ = one_call(plain)
    out, _ = one_call(recorded)
    assert torch.equal(out, reference)  # patches that change nothing change nothing, bit for bit
    inputs = [("input", i) for i in range(4)]
    assert seen["input_block_patch"] == inputs and seen["input_block_patch_after_skip"] == inputs
    assert seen["middle_block_patch"] == [("middle", 0)]
    assert seen["output_block_patch"] == [("output", i) for i in range(4)]
    # tiny SD1: attention at level 0 (8×8 = 64 tokens) and in the middle (4×4); SD1's 8 heads
    assert seen["attn1_patch"] == [("input", 1, 0, 8, 64), ("middle", 0, 0, 8, 16), ("output", 2, 0, 8, 64),
                                   ("output", 3, 0, 8, 64)]
    assert [s[:3] for s in seen["attn2_patch"]] == [s[:3] for s in seen["attn1_patch"]]
    assert seen["attn1_output_patch"] == [("input", 1), ("middle", 0), ("output", 2), ("output", 3)]


def test_no_hooks_or_processors_leak(unets: dict[str, Any], base: torch.Tensor) -> None:
    unet = unets["sd1"]
    processors = dict(unet.attn_processors)
    patched = mp.PatchModelAddDownscale(mp.SelfAttentionGuidance(mp.FreeU(handle(unet))), block_number=1,
                                        downscale_method="bicubic", upscale_method="bicubic")
    assert not torch.equal(sample(patched), base)
    assert torch.equal(sample(handle(unet)), base)  # the original MODEL samples as before
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in unet.modules())
    assert all(unet.attn_processors[k] is v for k, v in processors.items())


def test_patch_errors_leave_the_module_clean(unets: dict[str, Any]) -> None:
    unet = unets["sd1"]

    def broken(h: torch.Tensor, hsp: torch.Tensor, options: dict[str, Any]) -> Any:
        raise RuntimeError("boom")

    model = with_options(handle(unet), lambda o: o.with_patch("output_block_patch", broken)
                         .with_patch("attn1_patch", lambda n, c, v, e: (n, c, v)))
    with pytest.raises(RuntimeError, match="boom"):
        one_call(model)
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in unet.modules())
    assert all(type(p).__name__ == "AttnProcessor2_0" for p in unet.attn_processors.values())


# -- FreeU ----------------------------------------------------------------------------------------------

def test_freeu_scales_backbone_and_filters_a_known_skip() -> None:
    patch = up.FreeUPatch("FreeU", 32, b1=1.5, b2=1.2, s1=0.25, s2=0.5, v2=False)
    h = torch.ones(1, 128, 4, 4)
    constant = torch.full((1, 128, 4, 4), 2.0)  # only the DC term
    checker = (torch.arange(4).view(4, 1) + torch.arange(4).view(1, 4)) % 2 * 2.0 - 1.0  # only the Nyquist term
    out_h, out_skip = patch(h.clone(), constant, {})
    assert torch.equal(out_h[:, :64], torch.full((1, 64, 4, 4), 1.5)) and torch.equal(out_h[:, 64:], h[:, 64:])
    assert torch.allclose(out_skip, constant * 0.25, atol=1e-6)  # width 4·32: b1, s1
    _, kept = patch(torch.ones(1, 64, 4, 4), checker.expand(1, 64, 4, 4).clone(), {})
    assert torch.allclose(kept, checker.expand(1, 64, 4, 4), atol=1e-6)  # width 2·32: s2 leaves high frequencies
    other_h, other_skip = patch(torch.ones(1, 32, 4, 4), constant[:, :32], {})
    assert torch.equal(other_h, torch.ones(1, 32, 4, 4)) and torch.equal(other_skip, constant[:, :32])  # other widths
    v2 = up.FreeUPatch("FreeU_V2", 32, b1=3.0, b2=1.0, s1=1.0, s2=1.0, v2=True)
    ramp = torch.arange(16.0).view(1, 1, 4, 4).expand(1, 128, 4, 4).clone()
    out, _ = v2(ramp.clone(), ramp.clone(), {})
    weight = 1 + 2.0 * ramp[0, 0] / 15.0  # 1 + (b − 1)·(mean − min)/(max − min)
    assert torch.allclose(out[0, 0], ramp[0, 0] * weight) and torch.equal(out[0, 64:], ramp[0, 64:])


def test_freeu_changes_sampling_and_is_neutral_at_one(unets: dict[str, Any], base: torch.Tensor) -> None:
    model = handle(unets["sd1"])
    assert not torch.equal(sample(mp.FreeU(model)), base)
    assert not torch.equal(sample(mp.FreeU_V2(model)), sample(mp.FreeU(model)))
    neutral = sample(mp.FreeU(model, b1=1.0, b2=1.0, s1=1.0, s2=1.0))
    assert torch.allclose(neutral, base, atol=1e-4)  # an FFT round trip: equal to float rounding


# -- Kohya deep shrink ----------------------------------------------------------------------------------

def test_deep_shrink_downscales_the_chosen_block_in_its_sigma_range() -> None:
    patch = up.DeepShrink(3, 2.0, sigma_start=10.0, sigma_end=1.0, downscale_method="bicubic",
                          upscale_method="bicubic")
    h = torch.randn(1, 4, 8, 8)
    assert patch.input_block_patch(h, {"block": ("input", 3), "sigmas": torch.tensor([5.0])}).shape[-2:] == (4, 4)
    assert patch.input_block_patch(h, {"block": ("input", 2), "sigmas": torch.tensor([5.0])}) is h
    assert patch.input_block_patch(h, {"block": ("input", 3), "sigmas": torch.tensor([0.5])}) is h
    assert patch.input_block_patch(h, {"block": ("input", 3), "sigmas": torch.tensor([11.0])}) is h
    small, skip = torch.randn(1, 4, 4, 4), torch.randn(1, 4, 8, 8)
    grown, same = patch.output_block_patch(small, skip, {})
    assert grown.shape == skip.shape and same is skip
    assert torch.allclose(grown, torch.nn.functional.interpolate(small, size=(8, 8), mode="bicubic"))


def test_deep_shrink_in_the_network(unets: dict[str, Any], base: torch.Tensor) -> None:
    unet = unets["sd1"]
    sizes: list[tuple[int, ...]] = []
    hook = unet.down_blocks[0].downsamplers[0].register_forward_hook(
        lambda m, args, out: sizes.append(tuple(out.shape[-2:])))
    try:
        model = mp.PatchModelAddDownscale(handle(unet), block_number=1, downscale_factor=2.0, start_percent=0.0,
                                          end_percent=0.5, downscale_method="bicubic", upscale_method="bicubic")
        shrunk = sample(model)
    finally:
        hook.remove()
    sigma_end = float(model_sampling_of(model).percent_to_sigma(0.5))
    sigmas = sampling_sigmas(model_sampling_of(model), "normal", "euler", 4)[:-1]
    # input block 1's output (8×8) halved after its skip: the downsampler (input block 2) then makes 2×2
    assert sizes == [(2, 2) if float(s) >= sigma_end else (4, 4) for s in sigmas]
    assert not torch.equal(shrunk, base)
    neutral = mp.PatchModelAddDownscale(handle(unet), block_number=1, start_percent=1.0, end_percent=1.0,
                                        downscale_method="bicubic", upscale_method="bicubic")
    assert torch.equal(sample(neutral), base)  # no step in range: bit-identical, hooks and all
    before_skip = mp.PatchModelAddDownscale(handle(unet), block_number=2, downscale_factor=1.5, end_percent=1.0,
                                            downscale_after_skip=False, downscale_method="area",
                                            upscale_method="bilinear")
    assert torch.isfinite(sample(before_skip, size=12)).all()  # odd sizes line up again (ComfyUI's upsample size)


# -- ToMe -----------------------------------------------------------------------------------------------

def test_tome_merges_and_restores_tokens() -> None:
    metric = torch.randn(2, 64, 16, generator=torch.Generator().manual_seed(0))
    merge, unmerge = up.bipartite_soft_matching(metric, 8, 8, 2, 2, 20)
    merged = merge(metric)
    assert merged.shape == (2, 44, 16)  # 64 − r tokens
    assert unmerge(merged).shape == (2, 64, 16)
    constant = torch.ones(2, 64, 16)
    assert torch.equal(unmerge(merge(constant)), constant)  # merging equal tokens loses nothing
    identity, _ = up.bipartite_soft_matching(metric, 8, 8, 2, 2, 0)
    assert identity(metric) is metric


def test_tome_in_the_network(unets: dict[str, Any], base: torch.Tensor) -> None:
    tokens: list[tuple[Any, ...]] = []

    def count(n: torch.Tensor, c: torch.Tensor, v: torch.Tensor, extra: dict[str, Any]) -> Any:
        tokens.append((extra["block"], n.shape[1], c.shape[1]))
        return n, c, v

    model = with_options(mp.TomePatchModel(handle(unets["sd1"]), ratio=0.3),
                         lambda o: o.with_patch("attn1_patch", count))
    one_call(model)
    # full resolution (64 tokens): queries merged to 64 − int(64·0.3) = 45, keys kept; the middle untouched
    assert tokens == [(("input", 1), 45, 64), (("middle", 0), 16, 16), (("output", 2), 45, 64), (("output", 3), 45, 64)]
    assert not torch.equal(sample(mp.TomePatchModel(handle(unets["sd1"]), ratio=0.5)), base)
    assert torch.equal(sample(mp.TomePatchModel(handle(unets["sd1"]), ratio=0.0)), base)
    twice = mp.TomePatchModel(handle(unets["sd1"]), ratio=0.5)
    assert torch.equal(sample(twice), sample(twice))  # its random draws follow the seed


# -- HyperTile ------------------------------------------------------------------------------------------

def test_hypertile_splits_queries_into_tiles() -> None:
    patch = up.HyperTilePatch(tile_size=32, swap_size=1, max_depth=0, scale_depth=False)
    q = torch.arange(64.0).view(1, 64, 1)
    tiled, k, v = patch.attn1_patch(q, q, q, {"original_shape": [1, 4, 8, 8]})
    assert tiled.shape == (4, 16, 1) and k is q and v is q
    rows, cols = torch.arange(8).view(8, 1), torch.arange(8).view(1, 8)
    for tile, (ty, tx) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
        expected = (rows * 8 + cols)[ty * 4:ty * 4 + 4, tx * 4:tx * 4 + 4].flatten().float()
        assert torch.equal(tiled[tile, :, 0], expected)
    assert torch.equal(patch.attn1_output_patch(tiled, {}), q)
    small = patch.attn1_patch(torch.zeros(1, 16, 1), None, None, {"original_shape": [1, 4, 8, 8]})[0]
    assert small.shape == (1, 16, 1)  # deeper than max_depth: untouched


def test_hypertile_in_the_network(unets: dict[str, Any], base: torch.Tensor) -> None:
    shapes: list[tuple[int, ...]] = []
    model = with_options(mp.HyperTile(handle(unets["sd1"]), tile_size=32, swap_size=1),
                         lambda o: o.with_patch("attn1_patch", lambda n, c, v, e: (shapes.append(tuple(n.shape)),
                                                                                    (n, c, v))[1]))
    one_call(model)
    assert shapes[0] == (8, 16, 32)  # cond and uncond in one batch (2), each cut into 2×2 tiles of 16 tokens
    assert not torch.equal(sample(mp.HyperTile(handle(unets["sd1"]), tile_size=32, swap_size=1)), base)
    assert torch.equal(sample(mp.HyperTile(handle(unets["sd1"]))), base)  # 256-pixel tiles: one tile, nothing to do


# -- PAG and SAG ----------------------------------------------------------------------------------------

def test_pag(unets: dict[str, Any], base: torch.Tensor) -> None:
    model = handle(unets["sd1"])
    assert torch.equal(sample(mp.PerturbedAttentionGuidance(model, scale=0.0)), base)
    outs = {s: one_call(mp.PerturbedAttentionGuidance(model, scale=s)) for s in (0.0, 1.0, 2.0)}
    plain, _ = one_call(model)
    assert torch.equal(outs[0.0][0], plain) and not torch.equal(outs[1.0][0], plain)
    # the guidance is linear in its scale: result = cfg + (cond − pag)·scale
    assert torch.allclose(outs[2.0][0] - plain, 2 * (outs[1.0][0] - plain), atol=1e-5)
    assert outs[1.0][1].calls == 2 and outs[0.0][1].calls == 1  # one more pass, with the middle attention replaced


def test_sag_blur_map() -> None:
    x0 = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    uniform = torch.full((8, 4, 4), 0.25)  # 8 heads, 4 queries spread evenly over 4 keys: no key stands out
    assert torch.equal(create_blur_map(x0, uniform, 2.0), x0)
    focused = torch.zeros(8, 4, 4)
    focused[:, :, 0] = 1.0  # every query looks at key 0 (the top-left cell of a 2×2 map)
    degraded = create_blur_map(x0, focused, 2.0)
    assert torch.equal(degraded[..., 4:, :], x0[..., 4:, :]) and torch.equal(degraded[..., :, 4:], x0[..., :, 4:])
    assert not torch.allclose(degraded[..., :4, :4], x0[..., :4, :4])  # blurred where the attention looked


def test_sag(unets: dict[str, Any], base: torch.Tensor) -> None:
    model = handle(unets["sd1"])
    assert not torch.equal(sample(mp.SelfAttentionGuidance(model, scale=0.5)), base)
    # scale 0: the recorded attention is computed another way (float32 scores): equal to rounding
    assert torch.allclose(sample(mp.SelfAttentionGuidance(model, scale=0.0)), base, atol=1e-4)
    _, d = one_call(mp.SelfAttentionGuidance(model, scale=0.5))
    assert d.calls == 2


# -- stacking and other families ------------------------------------------------------------------------

def test_stacked_patches_all_apply(unets: dict[str, Any], base: torch.Tensor) -> None:
    model = handle(unets["sd1"])
    freeu = sample(mp.FreeU(model))
    shrink = dict(block_number=1, end_percent=1.0, downscale_method="bicubic", upscale_method="bicubic")
    both = sample(mp.PatchModelAddDownscale(mp.FreeU(model), **shrink))
    assert not torch.equal(both, freeu) and not torch.equal(both, sample(mp.PatchModelAddDownscale(model, **shrink)))
    stacked = model_options_of(mp.PatchModelAddDownscale(mp.FreeU(model), **shrink)).as_dict()
    assert len(stacked["transformer_options"]["patches"]["output_block_patch"]) == 2


@pytest.mark.parametrize("kind", ["sd2v", "sdxl"])
def test_patches_run_on_sd2_and_sdxl(unets: dict[str, Any], kind: str) -> None:
    model = handle(unets[kind], kind)
    reference = sample(model, kind, size=16, steps=3)
    for patched in (mp.FreeU(model), mp.PerturbedAttentionGuidance(model), mp.SelfAttentionGuidance(model),
                    mp.HyperTile(model, tile_size=32, swap_size=1, max_depth=1),
                    mp.PatchModelAddDownscale(model, block_number=1, downscale_factor=1.5, end_percent=1.0,
                                              downscale_method="bicubic", upscale_method="bicubic")):
        assert not torch.equal(sample(patched, kind, size=16, steps=3), reference)
    assert torch.equal(sample(model, kind, size=16, steps=3), reference)


def test_easycache_skips_network_calls(unets: dict[str, Any], base: torch.Tensor) -> None:
    model = handle(unets["sd1"])
    calls: list[int] = []
    hook = model.network.register_forward_pre_hook(lambda m, args: calls.append(1))
    try:
        assert torch.equal(sample(mp.EasyCacheNode(model, reuse_threshold=0.0), steps=8), sample(model, steps=8))
        plain = len(calls)
        calls.clear()
        cached = sample(mp.EasyCacheNode(model, reuse_threshold=0.3, start_percent=0.2, end_percent=0.95), steps=8)
    finally:
        hook.remove()
    assert len(calls) < plain / 2 and torch.isfinite(cached).all()


# -- through the real loader and the graph ---------------------------------------------------------------

@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from inkgraph.engine.core.settings import Settings
    from inkgraph.engine.runtime import Runtime
    from tests.fixtures.tiny_sd import save_single_file

    root: Path = tmp_path_factory.mktemp("patches")
    save_single_file("sd1", root / "models" / "checkpoints" / "tiny_sd1.safetensors", seed=1)
    return Runtime.create(Settings(base_dir=root, cache="none"))


def test_patch_nodes_in_a_graph(runtime: Any) -> None:
    def prompt(*patches: tuple[str, dict[str, Any]]) -> dict[str, Any]:
        graph: dict[str, Any] = {
            "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "tiny_sd1.safetensors"}},
            "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
            "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a red circle", "clip": ["4", 1]}},
            "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["4", 1]}},
        }
        source = ["4", 0]
        for n, (class_type, inputs) in enumerate(patches):
            graph[str(20 + n)] = {"class_type": class_type, "inputs": {"model": source, **inputs}}
            source = [str(20 + n), 0]
        graph["3"] = {"class_type": "KSampler", "inputs": {
            "seed": 3, "steps": 3, "cfg": 6.0, "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0,
            "model": source, "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}}
        graph["8"] = {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}}
        graph["9"] = {"class_type": "PreviewImage", "inputs": {"images": ["8", 0]}}
        return graph

    def image(graph: dict[str, Any]) -> torch.Tensor:
        import numpy as np
        from PIL import Image

        _, outcome = runtime.run(graph)
        assert outcome is not None and outcome.status_str == "success", outcome and outcome.error
        item = outcome.outputs["9"]["images"][0]
        with Image.open(runtime.folders.resolve(item["type"], item["filename"], item["subfolder"])) as png:
            return torch.from_numpy(np.asarray(png, dtype="float32").copy())

    plain = image(prompt())
    patched = image(prompt(("FreeU", {"b1": 1.3, "b2": 1.4, "s1": 0.9, "s2": 0.2}),
                           ("PerturbedAttentionGuidance", {"scale": 3.0}), ("CFGZeroStar", {}),
                           ("TomePatchModel", {"ratio": 0.3})))
    assert not torch.equal(plain, patched)
    assert torch.equal(image(prompt()), plain)
