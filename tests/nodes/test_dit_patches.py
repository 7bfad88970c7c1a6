"""Skip Layer Guidance, UNetTemporalAttentionMultiply, ModelAttentionBackend and ScaleROPE (ComfyUI's
``nodes_slg.py``, ``nodes_attention_multiply.py``, ``nodes_model_advanced.py``, ``nodes_rope.py``): their
/object_info against ComfyUI's declarations; a skipped block of Flux, Chroma, SD3, Wan and Qwen-Image equals
the same network with that block taken out of its list; the two guidance hooks against hand-computed
results; attention outputs scaled as a weight patch scales them; ScaleROPE's positions against Wan's own
table at scale 1 and a hand-computed one otherwise."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from inkgraph import nodes
from inkgraph.engine import spec_of
from inkgraph.engine.core.object_info import node_info
from inkgraph.nodes.diffusion.patches import dit_blocks
from inkgraph.nodes.diffusion.patches.options import set_model_options_patch_replace
from inkgraph.nodes.diffusion.patches.slg import SkipLayerGuidance, SkipLayerUncond, layer_numbers, skip
from tests.fixtures import tiny_dit as td
from tests.fixtures import tiny_video as tv

ADV = {"advanced": True}
LAYERS = ["STRING", {"default": "7, 8, 9", "multiline": False, **ADV}]


def fl(default: float, lo: float, hi: float, step: float, **extra: Any) -> list[Any]:
    return ["FLOAT", {"default": default, "min": lo, "max": hi, "step": step, **extra}]


# class_type: (category, experimental, [(name, config)] required, description)
REFERENCE: dict[str, tuple[str, bool, list[tuple[str, Any]], str]] = {
    "SkipLayerGuidanceDiT": ("advanced/guidance", True, [
        ("model", ["MODEL"]), ("double_layers", LAYERS), ("single_layers", LAYERS), ("scale", fl(3.0, 0, 10, 0.1)),
        ("start_percent", fl(0.01, 0, 1, 0.001, **ADV)), ("end_percent", fl(0.15, 0, 1, 0.001, **ADV)),
        ("rescaling_scale", fl(0.0, 0, 10, 0.01))],
        "Generic version of SkipLayerGuidance node that can be used on every DiT model."),
    "SkipLayerGuidanceDiTSimple": ("advanced/guidance", True, [
        ("model", ["MODEL"]), ("double_layers", LAYERS), ("single_layers", LAYERS),
        ("start_percent", fl(0.0, 0, 1, 0.001, **ADV)), ("end_percent", fl(1.0, 0, 1, 0.001, **ADV))],
        "Simple version of the SkipLayerGuidanceDiT node that only modifies the uncond pass."),
    "SkipLayerGuidanceSD3": ("advanced/guidance", True, [
        ("model", ["MODEL"]), ("layers", LAYERS), ("scale", fl(3.0, 0, 10, 0.1)),
        ("start_percent", fl(0.01, 0, 1, 0.001, **ADV)), ("end_percent", fl(0.15, 0, 1, 0.001, **ADV))],
        "Generic version of SkipLayerGuidance node that can be used on every DiT model."),
    "UNetTemporalAttentionMultiply": ("_for_testing/attention_experiments", True, [("model", ["MODEL"])] + [
        (name, fl(1.0, 0, 10, 0.01)) for name in
        ("self_structural", "self_temporal", "cross_structural", "cross_temporal")],
        "Scales the output weights of UNet temporal and structural attention layers independently, allowing "
        "fine-grained control over video model attention behavior."),
    "UNetSelfAttentionMultiply": ("_for_testing/attention_experiments", True, [("model", ["MODEL"])] + [
        (name, fl(1.0, 0, 10, 0.01)) for name in "qkv"] + [("out", fl(1.0, 0, 10, 0.01))],
        "Scales the query, key, value, and output weights of UNet self-attention layers by specified multipliers "
        "to experiment with attention behavior."),
    "UNetCrossAttentionMultiply": ("_for_testing/attention_experiments", True, [("model", ["MODEL"])] + [
        (name, fl(1.0, 0, 10, 0.01)) for name in "qkv"] + [("out", fl(1.0, 0, 10, 0.01))],
        "Scales the query, key, value, and output weights of UNet cross-attention layers by specified multipliers "
        "to experiment with text-to-image attention."),
    "ModelAttentionBackend": ("model/patch", True, [("model", ["MODEL", {"tooltip": "The model to patch."}]), (
        "attention", [["pytorch attention"], {"default": "pytorch attention", "display_name": "backend", "tooltip": (
            "The dense attention backend. Comfy Kitchen attention uses quantized INT8 attention and is available "
            "only on Nvidia and AMD GPUs.")}])],
        "Selects the dense attention implementation for the model. When used with Block Sparse Attention, this "
        "backend is used whenever sparse attention is inactive or unsupported."),
    "ScaleROPE": ("advanced/model_patches", True, [("model", ["MODEL"])] + [
        item for axis in "xyt" for item in ((f"scale_{axis}", fl(1.0, 0, 100, 0.1)),
                                             (f"shift_{axis}", fl(0.0, -256, 256, 0.1)))],
        "Scale and shift the ROPE of the model."),
}


@pytest.mark.parametrize("class_type", sorted(REFERENCE))
def test_object_info_matches_comfyui(class_type: str) -> None:
    category, experimental, required, description = REFERENCE[class_type]
    spec = next(spec_of(fn) for fn in nodes.node_list() if spec_of(fn).class_type == class_type)
    info = node_info(spec, None)
    assert info["category"] == category and bool(info.get("experimental")) is experimental
    assert info["input_order"] == {"required": [name for name, _ in required]}
    assert info["input"]["required"] == dict(required)
    assert info["output"] == ["MODEL"] and info["description"] == description


def test_model_attention_backend_names_its_output_and_accepts_any_backend() -> None:
    spec = next(spec_of(fn) for fn in nodes.node_list() if spec_of(fn).class_type == "ModelAttentionBackend")
    info = node_info(spec, None)
    assert info["display_name"] == "Model Attention Backend" and info["output_name"] == ["model"]
    assert info["output_tooltips"] == ["The model with the selected attention backend."]
    assert spec.custom_validates_all or "attention" in spec.custom_validated
    assert spec.impl.validate({"attention": "comfy kitchen attention"}, None, None) is True


# -- block skipping against the network without the block ------------------------------------------------------

def _without(module: Any, attr: str, index: int) -> Any:
    """The network with block ``index`` taken out of its list — or, for Chroma (whose blocks read their
    modulation by position), that block made an identity by hand."""
    import copy

    pruned = copy.deepcopy(module)
    blocks = getattr(pruned, attr)
    if type(module).__name__.startswith("Chroma"):
        blocks[index].forward = lambda hidden_states, *args, **kwargs: hidden_states
        return pruned
    setattr(pruned, attr, torch.nn.ModuleList([b for i, b in enumerate(blocks) if i != index]))
    return pruned


def _options(kind: str, index: int) -> dict[str, Any]:
    return set_model_options_patch_replace({}, skip, "dit", kind, index)["transformer_options"]


def _flux_inputs(batch: int = 1) -> dict[str, Any]:
    return dict(hidden_states=torch.randn(batch, 12, 64), encoder_hidden_states=torch.randn(batch, 5, td.CONTEXT),
                pooled_projections=torch.randn(batch, td.POOLED), timestep=torch.tensor([0.5] * batch),
                img_ids=torch.zeros(12, 3), txt_ids=torch.zeros(5, 3), return_dict=False)


CASES = ["flux-double", "flux-single", "chroma-single", "sd3-double", "wan-double", "qwen-double"]


def _case(name: str) -> tuple[Any, dict[str, Any], tuple[dit_blocks.BlockLayout, ...], str, str]:
    torch.manual_seed(0)
    family, kind = name.split("-")
    if family in ("flux", "chroma"):
        model = td.flux("dev", 1) if family == "flux" else td.chroma(2)
        inputs = _flux_inputs()
        if family == "flux":
            inputs["guidance"] = torch.tensor([3.5])
        else:
            inputs.pop("pooled_projections")
        layouts = dit_blocks.flux_layouts(model)
        attr = "transformer_blocks" if kind == "double" else "single_transformer_blocks"
    elif family == "sd3":
        model = td.sd3(3)
        inputs = dict(hidden_states=torch.randn(1, 16, 8, 8), encoder_hidden_states=torch.randn(1, 5, td.CONTEXT),
                      pooled_projections=torch.randn(1, 2 * td.POOLED), timestep=torch.tensor([500.0]),
                      return_dict=False)
        layouts, attr = (dit_blocks.DOUBLE_SD3,), "transformer_blocks"
    elif family == "wan":
        model = tv.wan("t2v", 4, layers=3)
        inputs = dict(hidden_states=torch.randn(1, 16, 2, 4, 4), encoder_hidden_states=torch.randn(1, 5, tv.TEXT_WIDTH),
                      timestep=torch.tensor([500.0]), return_dict=False)
        layouts, attr = (dit_blocks.DOUBLE_WAN,), "blocks"
    else:
        from tests.fixtures import tiny_qwen as tq

        model = tq.transformer(5)
        inputs = dict(hidden_states=torch.randn(1, 16, model.config.in_channels),
                      encoder_hidden_states=torch.randn(1, 5, model.config.joint_attention_dim),
                      encoder_hidden_states_mask=torch.ones(1, 5), timestep=torch.tensor([0.5]),
                      img_shapes=[(1, 4, 4)], return_dict=False)
        layouts, attr = (dit_blocks.DOUBLE_QWEN,), "transformer_blocks"
    return model.eval(), inputs, layouts, attr, f"{kind}_block"


@pytest.mark.parametrize("name", CASES)
def test_a_skipped_block_is_the_network_without_it(name: str) -> None:
    model, inputs, layouts, attr, kind = _case(name)
    with torch.no_grad():
        full = model(**inputs)[0]
        with dit_blocks.installed(model, _options(kind, 0), layouts):
            skipped = model(**inputs)[0]
        again = model(**inputs)[0]  # restored afterwards
        want = _without(model, attr, 0)(**inputs)[0]
    assert torch.allclose(skipped, want, atol=1e-6)
    assert not torch.allclose(skipped, full, atol=1e-4)
    assert torch.equal(again, full)


def test_original_block_runs_the_block_on_the_given_inputs() -> None:
    model, inputs, layouts, _, _ = _case("wan-double")
    seen = []

    def double(args: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
        seen.append(sorted(args))
        return extra["original_block"](args)

    options = set_model_options_patch_replace({}, double, "dit", "double_block", 1)["transformer_options"]
    with torch.no_grad():
        full = model(**inputs)[0]
        with dit_blocks.installed(model, options, layouts):
            routed = model(**inputs)[0]
    assert torch.equal(routed, full)
    assert seen == [["img", "pe", "transformer_options", "txt", "vec"]]


def test_the_wan_adapter_runs_block_replacements_through_the_patch_context() -> None:
    from inkgraph.nodes.diffusion.families.wan import WAN21_LATENT
    from inkgraph.nodes.diffusion.families.wan_adapter import WanAdapter
    from inkgraph.nodes.diffusion.patches.support import check_supported, patch_context

    model, inputs, _, _, _ = _case("wan-double")
    adapter = WanAdapter(WAN21_LATENT, image_to_video=False, wan22=False)
    check_supported(adapter, {"transformer_options": _options("double_block", 2)}, "wan")
    conds = {"context": inputs["encoder_hidden_states"]}
    x = inputs["hidden_states"]
    with torch.no_grad(), patch_context(adapter, model, _options("double_block", 2), "wan"):
        ours = adapter.apply(model, x, torch.tensor([500.0]), conds)
    with torch.no_grad():
        want = adapter.apply(_without(model, "blocks", 2), x, torch.tensor([500.0]), conds)
    assert torch.allclose(ours, want, atol=1e-6)


# -- the guidance hooks ----------------------------------------------------------------------------------------

class Runner:
    """Stands in for the sampler's runner: a prediction per list, 10 with blocks skipped, else 4."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, bool]] = []

    def calc_cond_batch(self, conds: list[Any], x: torch.Tensor, sigma: torch.Tensor, options: dict[str, Any]
                        ) -> list[torch.Tensor]:
        skipping = bool((options.get("transformer_options") or {}).get("patches_replace", {}).get("dit"))
        self.calls.append((conds, skipping))
        return [torch.full_like(x, 10.0 if skipping else 4.0) if c is not None else torch.zeros_like(x)
                for c in conds]


def test_skip_layer_guidance_moves_away_from_the_skipped_prediction() -> None:
    x = torch.zeros(1, 2, 2, 2)
    hook = SkipLayerGuidance([7], [], 3.0, sigma_start=5.0, sigma_end=1.0, rescaling_scale=0.0)
    runner = Runner()
    args = {"denoised": torch.full_like(x, 2.0), "cond_denoised": torch.full_like(x, 4.0), "cond": ["c"],
            "input": x, "sigma": torch.tensor([2.0]), "model": runner, "model_options": {}}
    # 2 + (4 − 10) · 3 = −16
    assert torch.equal(hook(args), torch.full_like(x, -16.0))
    assert runner.calls == [([["c"]], True)]
    outside = dict(args, sigma=torch.tensor([0.5]))
    assert torch.equal(hook(outside), args["denoised"]) and len(runner.calls) == 1
    at_end = dict(args, sigma=torch.tensor([1.0]))  # ComfyUI's range is sigma_end < σ ≤ sigma_start
    assert torch.equal(hook(at_end), args["denoised"]) and len(runner.calls) == 1


def test_skip_layer_guidance_rescales_towards_the_positives_deviation() -> None:
    x = torch.zeros(1, 1, 1, 2)
    runner = Runner()
    cond = torch.tensor([[[[4.0, 6.0]]]])
    args = {"denoised": torch.tensor([[[[1.0, 5.0]]]]), "cond_denoised": cond, "cond": ["c"], "input": x,
            "sigma": torch.tensor([2.0]), "model": runner, "model_options": {}}
    out = SkipLayerGuidance([0], [], 1.0, 5.0, 1.0, rescaling_scale=0.5)(args)
    raw = torch.tensor([[[[1.0 + (4 - 10), 5.0 + (6 - 10)]]]])  # −5, 1
    factor = 0.5 * cond.std() / raw.std() + 0.5
    assert torch.allclose(out, raw * factor)


def test_the_simple_version_skips_blocks_for_the_negative_only() -> None:
    x = torch.zeros(1, 1, 2, 2)
    runner = Runner()
    hook = SkipLayerUncond([1], [2], sigma_start=5.0, sigma_end=0.0)
    cond_out, uncond_out = hook({"input": x, "model": runner, "conds": [["c"], ["u"]], "sigma": torch.tensor([1.0]),
                                 "model_options": {}})
    assert torch.equal(cond_out, torch.full_like(x, 4.0)) and torch.equal(uncond_out, torch.full_like(x, 10.0))
    assert runner.calls == [([["c"], None], False), ([None, ["u"]], True)]


def test_layer_lists_are_read_as_comfyui_reads_them() -> None:
    assert layer_numbers("7, 8, 9") == [7, 8, 9] and layer_numbers("1;2 x3") == [1, 2, 3]
    assert layer_numbers("") == []


# -- attention scaling and rotary positions ----------------------------------------------------------------------

def test_attention_outputs_scale_like_a_weight_patch() -> None:
    from inkgraph.nodes.diffusion.patches.options import WrapperExecutor
    from inkgraph.nodes.dit_patches import AttentionScale

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attn1 = torch.nn.Module()
            self.attn1.to_out = torch.nn.ModuleList([torch.nn.Linear(3, 3)])
            self.attn2 = torch.nn.Module()
            self.attn2.to_out = torch.nn.ModuleList([torch.nn.Linear(3, 3)])

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.attn2.to_out[0](self.attn1.to_out[0](x))

    net = Net()
    x = torch.randn(2, 3)
    wrapper = AttentionScale({("attn1", "to_out.0", False): 0.5, ("attn1", "to_out.0", True): 1.0,
                              ("attn2", "to_out.0", False): 2.0, ("attn2", "to_out.0", True): 1.0}, "test")
    out = WrapperExecutor(net, net, [wrapper]).execute(x)
    with torch.no_grad():
        for lin, s in ((net.attn1.to_out[0], 0.5), (net.attn2.to_out[0], 2.0)):
            lin.weight.mul_(s)
            lin.bias.mul_(s)
        want = net(x)
    assert torch.allclose(out, want, atol=1e-6)


def test_scale_rope_at_scale_one_is_wans_own_table_and_shifts_positions() -> None:
    model = tv.wan("t2v", 1)
    x = torch.randn(1, 16, 3, 4, 6)
    cos, sin = model.rope(x)
    identity = dit_blocks.scaled_rope(model.rope, {})(x)
    assert torch.allclose(identity[0], cos, atol=1e-6) and torch.allclose(identity[1], sin, atol=1e-6)
    scaled_cos, _ = dit_blocks.scaled_rope(model.rope, {"scale_x": 2.0, "shift_x": 1.5})(x)
    rope = model.rope
    w_dim = rope.w_dim
    inverse = 1.0 / (10000.0 ** (torch.arange(0, w_dim, 2, dtype=torch.float64) / w_dim))
    # token (t=0, h=0, w=2) sits at x = 1.5 + 2·2 = 5.5; its w part is the last w_dim columns
    want = torch.cos(5.5 * inverse).repeat_interleave(2).float()
    assert torch.allclose(scaled_cos[0, 2, 0, -w_dim:], want, atol=1e-6)


def test_scale_rope_moves_fluxs_image_positions_by_hand() -> None:
    from inkgraph.nodes.diffusion.families.flux import FLUX_LATENT, FluxAdapter, pack, unpack
    from inkgraph.nodes.diffusion.patches.support import check_supported, patch_context

    torch.manual_seed(0)
    model = td.flux("dev", 1).eval()
    adapter = FluxAdapter(FLUX_LATENT)
    rope = {"scale_x": 2.0, "shift_x": 1.5, "scale_y": 0.5, "shift_y": -3.0, "scale_t": 1.0, "shift_t": 4.0}
    options = {"rope_options": rope}
    check_supported(adapter, {"transformer_options": options}, "flux")
    x = torch.randn(1, 16, 6, 8)
    conds = {"context": torch.randn(1, 5, td.CONTEXT), "pooled": torch.randn(1, td.POOLED),
             "guidance": torch.tensor([3.5])}
    t = torch.tensor([0.5])
    # 3×4 patches: row i at −3 + 0.5·i, column j at 1.5 + 2·j, index 0 + 4
    ids = torch.tensor([[4.0, -3.0 + 0.5 * i, 1.5 + 2.0 * j] for i in range(3) for j in range(4)])
    with torch.no_grad():
        with patch_context(adapter, model, options, "flux"):
            ours = adapter.apply(model, x, t, conds)
        out = model(hidden_states=pack(x), encoder_hidden_states=conds["context"], timestep=t,
                    pooled_projections=conds["pooled"], guidance=conds["guidance"], img_ids=ids,
                    txt_ids=torch.zeros(5, 3), return_dict=False)[0]
        plain = adapter.apply(model, x, t, conds)
    assert torch.allclose(ours, unpack(out, 16, 6, 8), atol=1e-5)
    assert not torch.allclose(ours, plain, atol=1e-4) and "inkgraph_rope_options" not in model.__dict__


def _unet() -> Any:
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(block_out_channels=(8, 8), down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                                up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), layers_per_block=1,
                                cross_attention_dim=8, attention_head_dim=2, norm_num_groups=4, sample_size=8).eval()


def test_temporal_attention_multiply_leaves_wan_alone_as_comfyui() -> None:
    # ComfyUI's Wan names these layers self_attn/cross_attn: its weight patches match nothing there
    from inkgraph.nodes.dit_patches import AttentionScale

    factors = {(a, "to_out.0", t): 1.3 for a in ("attn1", "attn2") for t in (False, True)}
    assert AttentionScale(factors, "test").scales(tv.wan("t2v", 1)) == []
    found = AttentionScale(factors, "test").scales(_unet())
    # attn1 and attn2 of 4 transformer blocks: 1 down, the middle one, 2 up (an up block has one layer more)
    assert len(found) == 2 * 4 and all(f == 1.3 for _, f in found)


def test_self_and_cross_attention_multiply_equal_scaled_weights() -> None:
    import copy

    from inkgraph.nodes.diffusion.patches.options import WrapperExecutor
    from inkgraph.nodes.dit_patches import AttentionScale, _qkv_out

    torch.manual_seed(0)
    unet = _unet()
    for p in unet.parameters():
        p.data.normal_(0, 0.2)
    x, t, text = torch.randn(1, 4, 8, 8), torch.tensor([10.0]), torch.randn(1, 3, 8)
    factors = {**_qkv_out("attn1", 1.5, 0.5, 2.0, 0.8), **_qkv_out("attn2", 0.7, 1.0, 1.2, 1.1)}
    with torch.no_grad():
        ours = WrapperExecutor(unet, unet, [AttentionScale(factors, "test")]).execute(x, t, text).sample
        want_model = copy.deepcopy(unet)
        for name, module in want_model.named_modules():
            for (attention, projection, _), factor in factors.items():
                if name.endswith(f"{attention}.{projection}"):
                    module.weight.mul_(factor)
                    if module.bias is not None:
                        module.bias.mul_(factor)
        want = want_model(x, t, text).sample
        plain = unet(x, t, text).sample
    assert torch.allclose(ours, want, atol=1e-5) and not torch.allclose(ours, plain, atol=1e-3)


def test_the_sd3_node_is_the_dit_node_over_double_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    from inkgraph.nodes import dit_patches

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(dit_patches, "SkipLayerGuidanceDiT", lambda **kw: calls.append(kw) or "patched")
    out = dit_patches.SkipLayerGuidanceSD3(model="m", layers="3, 4", scale=2.0, start_percent=0.1, end_percent=0.2)
    assert out == "patched" and calls == [{"model": "m", "double_layers": "3, 4", "single_layers": "", "scale": 2.0,
                                           "start_percent": 0.1, "end_percent": 0.2, "rescaling_scale": 0.0}]


def test_flux_disable_guidance_drops_the_guidance_embedding_per_entry() -> None:
    from inkgraph.nodes.conditioning import FluxDisableGuidance
    from inkgraph.nodes.diffusion.families.flux import FLUX_LATENT, FluxAdapter, pack, unpack

    assert FluxDisableGuidance(conditioning=[[torch.zeros(1), {"guidance": 3.5, "x": 1}]]) == [
        [torch.zeros(1), {"guidance": None, "x": 1}]]
    spec = next(spec_of(fn) for fn in nodes.node_list() if spec_of(fn).class_type == "FluxDisableGuidance")
    info = node_info(spec, None)
    assert (info["category"], info["input"], info["output"]) == (
        "advanced/conditioning/flux", {"required": {"conditioning": ["CONDITIONING"]}}, ["CONDITIONING"])
    assert info["description"] == "This node completely disables the guidance embed on Flux and Flux like models"

    class Ctx:
        device, dtype, latent_shape, denoise_mask = torch.device("cpu"), torch.float32, (1, 16, 6, 8), None

    torch.manual_seed(0)
    model = td.flux("dev", 1).eval()
    adapter = FluxAdapter(FLUX_LATENT)
    text, pooled = torch.randn(1, 5, td.CONTEXT), torch.randn(1, td.POOLED)
    with torch.no_grad():
        off = adapter.encode(model, text, {"pooled_output": pooled, "guidance": None}, Ctx())
        on = adapter.encode(model, text, {"pooled_output": pooled, "guidance": 4.0}, Ctx())
        both = {k: torch.cat([off[k], on[k]]) for k in off}
        x, t = torch.randn(2, 16, 6, 8), torch.tensor([0.6, 0.6])
        ours = adapter.apply(model, x, t, both)
        # ComfyUI: vec = time_in(t) + vector_in(y), no guidance_in term for the entry without guidance
        embed = model.time_text_embed
        wanted = []
        for i, conds in enumerate((off, on)):
            hook = None
            if i == 0:
                hook = embed.guidance_embedder.register_forward_hook(lambda m, a, out: torch.zeros_like(out))
            out = model(hidden_states=pack(x[i:i + 1]), encoder_hidden_states=text, timestep=t[:1],
                        pooled_projections=pooled, guidance=conds["guidance"], img_ids=torch.tensor(
                            [[0.0, r, c] for r in range(3) for c in range(4)]), txt_ids=torch.zeros(5, 3),
                        return_dict=False)[0]
            if hook is not None:
                hook.remove()
            wanted.append(unpack(out, 16, 6, 8))
    assert torch.allclose(ours, torch.cat(wanted), atol=1e-5)
    assert not torch.allclose(ours[0], adapter.apply(model, x[:1], t[:1], {**off, "guidance_on": torch.ones(1)})[0],
                              atol=1e-4)
