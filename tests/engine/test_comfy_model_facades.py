"""The model facades one by one: a ModelPatcher clone is independent and becomes a new handle; what a facade
cannot do raises at call time naming ComfyUI's function (and ``hasattr`` stays false); values cross the
boundary through pipes; ComfyUI's weight patches are computed as ``calculate_weight`` computes them and are
undone exactly; SAMPLER values keep their identity through the KSAMPLER facade."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

import inkgraph.engine.compat.comfy.model_base as model_base
import inkgraph.engine.compat.comfy.model_patcher as model_patcher
import inkgraph.engine.compat.comfy.samplers as samplers
from inkgraph.engine import compat
from inkgraph.engine.compat.stubs import Unavailable
from inkgraph.engine.compat.values import to_comfy, to_inkgraph
from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime
from inkgraph.nodes.diffusion import lora
from inkgraph.nodes.diffusion.weight_patches import UnsupportedPatch, WeightPatch
from tests.fixtures.tiny_sd import save_single_file


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    root = tmp_path_factory.mktemp("facades")
    save_single_file("sd1", root / "models" / "checkpoints" / "tiny.safetensors", seed=4)
    runtime = Runtime.create(Settings(base_dir=root))
    compat.activate(runtime.folders, runtime.registry)
    return runtime


@pytest.fixture(scope="module")
def handles(runtime: Runtime) -> tuple[Any, Any, Any]:
    from inkgraph.engine.compat.comfy._sampling import context
    from inkgraph.nodes.loaders import load_handles

    return load_handles(context(), Path(runtime.folders.model_path("checkpoints", "tiny.safetensors")))


def test_a_clone_is_independent_and_becomes_a_new_handle(handles: tuple[Any, Any, Any]) -> None:
    handle = handles[0]
    m = to_comfy(handle)
    assert isinstance(m, model_patcher.ModelPatcher) and m.model_options == {"transformer_options": {}}

    def attn(q: Any, k: Any, v: Any, extra_options: Any) -> Any:
        return q, k, v

    c = m.clone()
    c.set_model_attn1_patch(attn)
    c.set_model_sampler_cfg_function(lambda cond, uncond, scale: cond)  # the legacy three-argument form
    c.model_options["transformer_options"]["my_pack_state"] = 3  # packs also write the dict directly
    assert m.model_options == {"transformer_options": {}}  # the original facade is untouched …
    new = to_inkgraph(c)
    assert new is not handle and new.key == handle.key  # … the clone is a new handle over the same weights
    assert not handle.model_options  # … and the handle the node received is unchanged
    options = new.model_options.as_dict()
    assert options["transformer_options"]["patches"]["attn1_patch"] == [attn]
    assert options["transformer_options"]["my_pack_state"] == 3
    legacy = options["sampler_cfg_function"]
    assert legacy({"cond": 1, "uncond": 2, "cond_scale": 3}) == 1
    again = to_comfy(new)  # a later node sees what the earlier one set
    assert again.model_options["transformer_options"]["patches"]["attn1_patch"] == [attn]
    assert to_inkgraph(m) is not None and to_inkgraph(m).key == handle.key


def test_model_objects_answer_from_the_family(handles: tuple[Any, Any, Any]) -> None:
    m = to_comfy(handles[0])
    sampling = m.get_model_object("model_sampling")
    assert m.model.model_sampling is sampling and float(sampling.sigma_max) > 14
    assert m.model.model_type is model_base.ModelType.EPS
    settings = m.model.model_config.sampling_settings
    assert settings["linear_start"] == pytest.approx(0.00085) and settings["zsnr"] is False
    fmt = m.model.latent_format
    assert type(fmt).__name__ == "SD15" and fmt.latent_channels == 4
    x = torch.ones(1, 4, 2, 2)
    assert torch.equal(m.model.process_latent_out(m.model.process_latent_in(x)), x)
    assert m.load_device.type in ("cpu", "cuda") and m.model_dtype() in (torch.float32, torch.float16, torch.bfloat16)
    assert isinstance(m.model.diffusion_model, torch.nn.Module)


def test_what_a_facade_cannot_do_raises_naming_comfyui(handles: tuple[Any, Any, Any]) -> None:
    m, clip, vae = (to_comfy(h) for h in handles)
    assert not hasattr(m, "a_method_comfyui_has_not") and not hasattr(m.model, "extra_conds_shapes")
    with pytest.raises(Unavailable, match=r"comfy\.model_patcher\.ModelPatcher\.add_wrapper\('sampler_sample'\)"):
        m.add_wrapper("sampler_sample", lambda executor, *a: executor(*a))
    with pytest.raises(Unavailable, match=r"ModelPatcher\.add_object_patch\('diffusion_model\.input_blocks'\)"):
        m.add_object_patch("diffusion_model.input_blocks", None)
    with pytest.raises(Unavailable, match=r"ModelPatcher\.patch_model"):
        m.patch_model()
    with pytest.raises(Unavailable, match=r"comfy\.model_base\.BaseModel\.extra_conds"):
        m.model.extra_conds()
    with pytest.raises(Unavailable, match=r"comfy\.sd\.CLIP\.cond_stage_model"):
        clip.cond_stage_model  # noqa: B018
    with pytest.raises(Unavailable, match=r"comfy\.sd\.VAE\(sd=…\)"):
        type(vae)(sd={})
    with pytest.raises(Unavailable, match=r"comfy\.samplers\.Sampler\.sample"):
        samplers.native_sampler(samplers.Sampler())


def test_values_cross_through_pipes(handles: tuple[Any, Any, Any]) -> None:
    model, clip, vae = handles
    pipe = (model, clip, vae, [[torch.zeros(1), {"pooled_output": None}]], "text")
    comfy = to_comfy(pipe)
    assert [type(v).__name__ for v in comfy[:3]] == ["ModelPatcher", "CLIP", "VAE"]
    assert comfy[3] is pipe[3] and comfy[4] == "text"  # values without handles are passed as they are
    back = to_inkgraph({"pipe": comfy})
    assert back["pipe"][0] == model and back["pipe"][1] == clip and back["pipe"][2] is vae


def test_sampler_values_keep_their_identity() -> None:
    from inkgraph.nodes.diffusion.samplers import sampler_object

    native = sampler_object("dpmpp_2m_sde", eta=0.5)
    facade = to_comfy(native)
    assert isinstance(facade, samplers.KSAMPLER) and facade.extra_options == {"eta": 0.5}
    assert to_inkgraph(facade) is native
    facade.extra_options["s_noise"] = 0.9  # a pack changing the options gets a new sampler
    changed = to_inkgraph(facade)
    assert changed is not native and dict(changed.options) == {"eta": 0.5, "s_noise": 0.9}
    assert changed.function is native.function


@pytest.mark.parametrize(("value", "expected"), [
    ((torch.full((2, 2), 2.0),), 1.0 * 0.5 + 2.0 * 2.0),  # a diff, weight scaled by strength_model first
    (("diff", (torch.full((2, 2), 2.0),)), 0.5 + 4.0),
    (("set", (torch.full((2, 2), 7.0),)), 7.0),
    (("lora", (torch.ones(2, 1), torch.ones(1, 2), 2.0, None, None)), 0.5 + 2.0 * 2.0),  # alpha/rank = 2
    ([(torch.full((2, 2), 3.0), lambda a, **k: a), (1.0, (torch.ones(2, 2),), 1.0, None, None)], 0.5 + 2.0 * 4.0),
])
def test_weight_patches_as_comfyui_calculates_them(value: Any, expected: float) -> None:
    weight = torch.ones(2, 2)
    out = WeightPatch(value, "layer", strength_model=0.5).apply(weight.clone(), 2.0)
    assert torch.equal(out, torch.full((2, 2), expected))


def test_unsupported_weight_patches_name_comfyui() -> None:
    with pytest.raises(UnsupportedPatch, match=r"comfy\.lora\.calculate_weight for 'loha'"):
        WeightPatch(("loha", ()), "layer").apply(torch.ones(1), 1.0)


def test_weight_patches_are_undone_exactly() -> None:
    module = torch.nn.Sequential(torch.nn.Linear(3, 2))
    weight, bias = module[0].weight.detach().clone(), module[0].bias.detach().clone()
    patches = lora.LoraFile("add_patches", {"unet": {
        "0.weight": WeightPatch((torch.full((2, 3), 0.25),), "0"),
        "0.bias": WeightPatch(("set", (torch.zeros(2),)), "0", "bias")}})
    lora.sync(module, "unet", ((patches, 1.0),))
    assert torch.allclose(module[0].weight, weight + 0.25) and torch.equal(module[0].bias, torch.zeros(2))
    lora.sync(module, "unet", ())
    assert torch.equal(module[0].weight, weight) and torch.equal(module[0].bias, bias)


def test_conditioning_helpers() -> None:
    import inkgraph.engine.compat.comfy.sampler_helpers as sampler_helpers

    cond = [[torch.ones(1, 2, 3), {"pooled_output": torch.zeros(1, 3)}]]
    converted = sampler_helpers.convert_cond(cond)
    assert converted[0]["cross_attn"] is cond[0][0] and converted[0]["model_conds"] == {}
    assert "uuid" in converted[0] and "cross_attn" not in cond[0][1]


def test_loaders_for_a_flux_model_and_its_text_encoders(tmp_path: Path, runtime: Runtime) -> None:
    import importlib

    import inkgraph.engine.compat.comfy.sd as comfy_sd
    from tests.fixtures import tiny_dit, tiny_text

    tiny_dit.save(tiny_dit.flux_state(tiny_dit.flux("dev", seed=2)), tmp_path / "flux.safetensors",
                  "model.diffusion_model.")
    tiny_text.save_set(tmp_path, seed=3)
    model = comfy_sd.load_diffusion_model(str(tmp_path / "flux.safetensors"))
    assert type(model).__name__ == "ModelPatcher" and model.model.model_type is model_base.ModelType.FLUX
    assert model.model.latent_format.latent_channels == 16 and type(model.model.latent_format).__name__ == "Flux"
    clip = comfy_sd.load_clip([str(tmp_path / "clip_l.safetensors"), str(tmp_path / "t5xxl_fp16.safetensors")],
                              clip_type=comfy_sd.CLIPType.FLUX)
    tokens = clip.tokenize("a red circle")
    assert set(tokens) == {"l", "t5xxl"} and len(tokens["t5xxl"][0]) == 256  # Flux pads T5 to 256 tokens
    cond = clip.encode_from_tokens_scheduled(tokens)
    builtin = importlib.import_module("nodes").CLIPTextEncode().encode(clip, "a red circle")[0]
    assert torch.equal(cond[0][0], builtin[0][0])
    assert torch.equal(cond[0][1]["pooled_output"], builtin[0][1]["pooled_output"])
    tokens["t5xxl"][0][1] = (tokens["t5xxl"][0][1][0], 1.5)  # edited chunks: only SD's encoders take them
    with pytest.raises(Unavailable, match=r"comfy\.sd\.CLIP\.encode_from_tokens .*flux"):
        clip.encode_from_tokens(tokens)


def test_deepcopy_of_a_facade_never_copies_weights(handles: tuple[Any, Any, Any]) -> None:
    import copy

    m, clip, vae = (to_comfy(h) for h in handles)
    m.set_model_attn2_patch(print)
    copied = copy.deepcopy({"pipe": (m, clip, vae)})["pipe"]
    assert copied[0].model_options["transformer_options"]["patches"]["attn2_patch"] == [print]
    assert to_inkgraph(copied[0]).manager is handles[0].manager and to_inkgraph(copied[2]) is handles[2]
