"""OmniGen2: the transformer read from ComfyUI's repackaged layout (the real file's architecture against the
values ComfyUI hard-codes, a tiny model's exact weights through UNETLoader with and without ComfyUI's
prefix, scaled fp8, LoRA names), the pieces of the network against hand-computed values (rotary position
ids, token layout, time embedding, rotation), the adapter against a plain re-statement of ComfyUI's
forward, model sampling and latents, and the ``omnigen2`` CLIPLoader type's template token for token."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import save_file

from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime
from inkgraph.nodes.diffusion import model_sampling as ms
from inkgraph.nodes.diffusion.families import detect, detect_file, load_diffusion_model
from inkgraph.nodes.diffusion.families.flux import FLUX_LATENT
from inkgraph.nodes.diffusion.families.omnigen2 import OmniGen2Adapter
from inkgraph.nodes.diffusion.families.omnigen2_model import (
    Architecture,
    OmniGen2Transformer,
    apply_rotary,
    patchify,
    position_ids,
    rotary,
    timestep_features,
    unpatchify,
)
from inkgraph.nodes.diffusion.state_dict import ModelFileError, TensorIndex, TensorInfo
from tests.fixtures import tiny_dit as td
from tests.fixtures import tiny_omnigen2 as to
from tests.fixtures import tiny_qwen as tq

# ComfyUI's model_detection for OmniGen2 (hidden 2520, 21 heads, 7 kv heads, 32 layers, 2 refiners,
# multiple_of 256 → MLP 10240, text 2048, axes 40/40/40; the time embedder min(2520, 1024) wide)
REAL = Architecture(width=2520, heads=21, kv_heads=7, layers=32, refiners=2, mlp=10240, caption=2048, in_channels=16,
                    out_channels=16, time_width=1024, axes=(40, 40, 40))


def index_of(state: dict[str, torch.Tensor], prefix: str = "") -> TensorIndex:
    return TensorIndex({prefix + k: TensorInfo(tuple(v.shape), "F16") for k, v in state.items()}, {})


class Ctx:
    def __init__(self, base: Path) -> None:
        runtime = Runtime.create(Settings(base_dir=base, cache="none"))
        self.models, self.folders, self.extra_data, self.node_id = runtime.models, runtime.folders, {}, "t"

    def progress(self, *args: Any, **kwargs: Any) -> None:
        return None

    def text(self, _: str) -> None:
        return None

    def check_interrupted(self) -> None:
        return None


def test_the_real_file_reads_as_comfyui_configures_it() -> None:
    with torch.device("meta"):
        model = OmniGen2Transformer(REAL)
    state = model.state_dict()
    found = detect(index_of(state, "model.diffusion_model."))
    assert (found.family.name, found.prefix) == ("omnigen2", "model.diffusion_model.")
    assert Architecture(**found.config) == REAL
    # the template lists omnigen2_fp16.safetensors at 7.39 GB (GiB): its parameters at two bytes each
    size = sum(t.numel() for t in state.values()) * 2
    assert round(size / 2**30, 2) == 7.39


@pytest.mark.parametrize("prefix", ["", "model.diffusion_model."])
def test_unetloader_loads_a_file_with_its_architecture_and_exact_weights(tmp_path: Path, prefix: str) -> None:
    from inkgraph.nodes.loaders import UNETLoader

    model = to.transformer(1)
    td.save(to.transformer_state(model), tmp_path / "models" / "diffusion_models" / "omnigen2.safetensors", prefix)
    loaded = UNETLoader(Ctx(tmp_path), "omnigen2.safetensors", weight_dtype="default")  # type: ignore[arg-type]
    expected = model.state_dict()
    with loaded.use() as module:
        assert isinstance(module, OmniGen2Transformer) and module.arch == to.ARCH
        state = module.state_dict()
        assert set(state) == set(expected)
        assert all(torch.equal(state[k].float(), expected[k]) for k in expected)


def test_scaled_fp8_keeps_fp8_weights_with_their_scales(tmp_path: Path) -> None:
    model = to.transformer(2)
    state = to.transformer_state(model)
    linear = {k[: -len(".weight")] for k, v in state.items() if k.endswith(".weight") and v.ndim == 2
              and k != "image_index_embedding"}
    path = tmp_path / "omnigen2_fp8_scaled.safetensors"
    td.save(td.scaled_fp8(state, linear), path)
    loaded, _ = load_diffusion_model(path, torch.float32)
    to_k = loaded.layers[0].attn.to_k
    assert to_k.weight.dtype == torch.float8_e4m3fn
    assert torch.allclose(to_k.weight.float() * to_k.scale_weight, model.layers[0].attn.to_k.weight, rtol=0.07,
                          atol=1e-3)
    x, t, cap = torch.randn(1, 16, 4, 4), torch.tensor([0.4]), torch.randn(1, 5, 32)
    with torch.no_grad():
        ours, reference = loaded(x, t, cap), model(x, t, cap)
    assert torch.allclose(ours, reference, atol=0.1 * reference.abs().max().item())


def test_an_unreadable_file_names_it_and_what_was_found(tmp_path: Path) -> None:
    state = to.transformer_state(to.transformer())
    state["layers.0.attn.to_k.weight"] = torch.zeros(30, 48)
    path = tmp_path / "broken_omnigen2.safetensors"
    save_file(state, str(path))
    with pytest.raises(ModelFileError, match="broken_omnigen2.safetensors.*omnigen2.*k of 30 rows"):
        detect_file(path)


def test_model_sampling_latents_and_lora_names_are_comfyuis() -> None:
    """ComfyUI's Omnigen2 config: flow (CONST) with shift 2.6 and multiplier 1; Flux's latents and VAE."""
    found = detect(index_of(to.transformer_state(to.transformer())))
    sampling = found.family.model_sampling(found)
    assert isinstance(sampling, ms.ModelSamplingDiscreteFlow) and isinstance(sampling, ms.CONST)
    assert (sampling.shift, sampling.multiplier) == (2.6, 1.0)
    assert float(sampling.timestep(torch.tensor(0.25))) == 0.25
    assert found.family.latent == FLUX_LATENT and found.family.vae == "flux"
    names = found.family.lora_names(found, to.transformer())
    assert names["layers_0_attn_to_q"] == [("layers.0.attn.to_q", None)]
    assert names["noise_refiner_0_norm1_linear"] == [("noise_refiner.0.norm1.linear", None)]
    assert "image_index_embedding" not in names


def test_position_ids_place_caption_references_and_image() -> None:
    """Caption i at (i, i, i); reference 1 (2×3 tokens) at shift 3, reference 2 (1×1) at 3 + max(2, 3) = 6,
    the image (2×2) at 6 + 1 = 7; rows and columns row-major."""
    ids = position_ids(3, [(2, 3), (1, 1)], (2, 2))
    expected = [[0, 0, 0], [1, 1, 1], [2, 2, 2],
                [3, 0, 0], [3, 0, 1], [3, 0, 2], [3, 1, 0], [3, 1, 1], [3, 1, 2],
                [6, 0, 0],
                [7, 0, 0], [7, 0, 1], [7, 1, 0], [7, 1, 1]]
    assert ids.tolist() == expected
    assert position_ids(2, [], (1, 2)).tolist() == [[0, 0, 0], [1, 1, 1], [2, 0, 0], [2, 0, 1]]


def test_rotation_turns_interleaved_pairs_by_each_axis_angle() -> None:
    ids = torch.tensor([[1, 2, 3]])
    freqs = rotary(ids, (2, 4, 2), theta=100.0)
    # axis 0 (2 wide): angle 1·1; axis 1 (4 wide): 2·1 and 2·100^(−1/2); axis 2: 3·1
    angles = torch.tensor([1.0, 2.0, 2.0 / 10.0, 3.0])
    assert torch.allclose(freqs[0, 0], angles.cos()) and torch.allclose(freqs[1, 0], angles.sin())
    x = torch.randn(1, 1, 1, 8)
    out = apply_rotary(x, freqs)[0, 0, 0]
    pairs = x[0, 0, 0].reshape(4, 2)
    for i, angle in enumerate(angles.tolist()):
        c, s = math.cos(angle), math.sin(angle)
        expected = [c * pairs[i, 0] - s * pairs[i, 1], s * pairs[i, 0] + c * pairs[i, 1]]
        assert torch.allclose(out[2 * i:2 * i + 2], torch.tensor(expected), atol=1e-6)


def test_time_features_are_cosines_then_sines_of_1000_t() -> None:
    features = timestep_features(torch.tensor([0.25]), channels=4)
    # two frequencies: 1 and 10000^(−1/2) = 0.01, of 1000·0.25 = 250
    expected = [math.cos(250.0), math.cos(2.5), math.sin(250.0), math.sin(2.5)]
    assert torch.allclose(features[0], torch.tensor(expected), atol=1e-4)


def test_patches_are_row_major_tokens_of_p1_p2_c_and_round_trip() -> None:
    x = torch.arange(2 * 4 * 6, dtype=torch.float32).reshape(1, 2, 4, 6)
    tokens = patchify(x)
    assert tokens.shape == (1, 6, 8)
    # token (row 1, column 2) holds pixels rows 2-3, columns 4-5, channel last
    assert tokens[0, 5].tolist() == [x[0, c, 2 + i, 4 + j].item() for i in range(2) for j in range(2) for c in range(2)]
    assert torch.equal(unpatchify(tokens, 2, 3), x)


def _plain_forward(model: OmniGen2Transformer, x: torch.Tensor, sigma: torch.Tensor, context: torch.Tensor,
                   refs: list[torch.Tensor]) -> torch.Tensor:
    """ComfyUI's Omnigen2 forward restated step by step over the module's weights: pad, t = 1 − σ, caption
    refiner, image and reference refiners (with their index rows), the joint sequence, the output's image
    tokens negated and cropped."""
    h, w = x.shape[-2:]
    pad = lambda z: torch.nn.functional.pad(z, (0, (-z.shape[-1]) % 2, 0, (-z.shape[-2]) % 2), mode="circular")  # noqa: E731
    x = pad(x)
    refs = [pad(r) for r in refs]
    rows, cols = x.shape[-2] // 2, x.shape[-1] // 2
    embed = model.time_caption_embed
    temb = embed.timestep_embedder(timestep_features(1.0 - sigma))
    text = embed.caption_embedder(context)
    sizes = [(r.shape[-2] // 2, r.shape[-1] // 2) for r in refs]
    n_text, n_refs = text.shape[1], sum(a * b for a, b in sizes)
    freqs = rotary(position_ids(n_text, sizes, (rows, cols)), model.arch.axes)
    for block in model.context_refiner:
        text = block(text, freqs[:, :n_text])
    image = model.x_embedder(patchify(x))
    for block in model.noise_refiner:
        image = block(image, freqs[:, n_text + n_refs:], temb)
    sequence = [text]
    if refs:
        ref = torch.cat([model.ref_image_patch_embedder(patchify(r)) + model.image_index_embedding[j]
                         for j, r in enumerate(refs)], dim=1)
        for block in model.ref_image_refiner:
            ref = block(ref, freqs[:, n_text:n_text + n_refs], temb)
        sequence.append(ref)
    hidden = torch.cat([*sequence, image], dim=1)
    for block in model.layers:
        hidden = block(hidden, freqs, temb)
    out = model.norm_out(hidden, temb)[:, -rows * cols:]
    return -unpatchify(out, rows, cols)[..., :h, :w]


def test_adapter_feeds_the_network_as_comfyui_with_reference_latents() -> None:
    model = to.transformer(3)
    adapter = OmniGen2Adapter(FLUX_LATENT)

    class C:
        device, dtype = torch.device("cpu"), torch.float32

    generator = torch.Generator().manual_seed(0)
    x = torch.randn(1, 16, 5, 7, generator=generator)
    context = torch.randn(1, 6, 32, generator=generator)
    refs = [torch.randn(1, 16, 3, 4, generator=generator), torch.randn(1, 16, 4, 4, generator=generator)]
    sigma = torch.tensor([0.6])
    with torch.no_grad():
        conds = adapter.encode(model, context, {"attention_mask": torch.ones(1, 6), "reference_latents": refs}, C)
        assert sorted(conds) == ["context", "reference_latent_00", "reference_latent_01"]
        assert torch.equal(conds["reference_latent_00"], FLUX_LATENT.process_in(refs[0]))
        got = adapter.apply(model, x, sigma, conds)
        want = _plain_forward(model, x, sigma, context, [FLUX_LATENT.process_in(r) for r in refs])
        assert got.shape == x.shape and torch.allclose(got, want, atol=1e-5)
        plain = adapter.apply(model, x, sigma, adapter.encode(model, context, {}, C))
        assert torch.allclose(plain, _plain_forward(model, x, sigma, context, []), atol=1e-5)
        assert not torch.allclose(plain, got)
        # padding in the caption's mask: only the attended tokens are read
        masked = adapter.encode(model, torch.cat([context, torch.randn(1, 2, 32)], dim=1),
                                {"attention_mask": torch.tensor([[1] * 6 + [0, 0]])}, C)
        assert torch.equal(masked["context"], context)


def test_omnigen2_prompt_template_token_for_token() -> None:
    """ComfyUI's Omnigen2Tokenizer template (OmniGen2's own system prompt), no assistant turn."""
    from inkgraph.nodes.diffusion.encoders.omnigen2 import omnigen2_prompt
    from inkgraph.nodes.diffusion.encoders.qwen_vl import qwen_tokenizer

    text = omnigen2_prompt("a red fox")
    assert text == ("<|im_start|>system\nYou are a helpful assistant that generates high-quality images based on "
                    "user instructions.<|im_end|>\n<|im_start|>user\na red fox<|im_end|>\n")
    ids = qwen_tokenizer()(text, add_special_tokens=False)["input_ids"]
    fox = qwen_tokenizer()("a red fox", add_special_tokens=False)["input_ids"]
    assert ids[:3] == [151644, 8948, 198]  # <|im_start|> system \n
    assert ids[-len(fox) - 2:] == fox + [151645, 198]  # … prompt <|im_end|> \n
    assert ids[-len(fox) - 5:-len(fox) - 2] == [151644, 872, 198]  # <|im_start|> user \n


def test_clip_loader_type_omnigen2_reads_the_normed_last_layer(tmp_path: Path) -> None:
    from inkgraph.nodes.conditioning import CLIPTextEncode
    from inkgraph.nodes.diffusion.encoders.omnigen2 import omnigen2_prompt
    from inkgraph.nodes.diffusion.encoders.qwen_vl import qwen_tokenizer
    from inkgraph.nodes.loaders import CLIPLoader, CLIPSetLastLayer

    encoder = tq.qwen_vl(4, vision=True)
    td.save(tq.comfy_qwen_vl_state(encoder), tmp_path / "models" / "text_encoders" / "qwen_2.5_vl_fp16.safetensors")
    ctx = Ctx(tmp_path)
    clip = CLIPLoader(ctx, "qwen_2.5_vl_fp16.safetensors", "omnigen2")
    cond = CLIPTextEncode(ctx, text="a red fox", clip=clip)
    ids = qwen_tokenizer()(omnigen2_prompt("a red fox"), add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        reference = encoder.language_model(input_ids=torch.tensor([ids])).last_hidden_state
    states, options = cond[0]
    assert states.shape == reference.shape
    assert torch.allclose(states, reference, atol=1e-5)
    assert torch.equal(options["attention_mask"], torch.ones(1, len(ids), dtype=options["attention_mask"].dtype))
    # CLIPSetLastLayer −2: the first of the two layers' own output, without the final norm (ComfyUI's
    # layer="hidden" with layer_norm_hidden_state=False)
    earlier = CLIPTextEncode(ctx, text="a red fox", clip=CLIPSetLastLayer(clip, -2))[0][0]
    with torch.no_grad():
        hidden = encoder.language_model(input_ids=torch.tensor([ids]), output_hidden_states=True).hidden_states[1]
    assert torch.allclose(earlier, hidden, atol=1e-5)


def test_loras_in_kohyas_and_comfyuis_names_patch_the_layers(tmp_path: Path) -> None:
    from inkgraph.nodes.loaders import LoraLoaderModelOnly, UNETLoader

    model = to.transformer(5)
    td.save(to.transformer_state(model), tmp_path / "models" / "diffusion_models" / "omnigen2.safetensors")
    generator = torch.Generator().manual_seed(1)
    down, up = torch.randn(2, 48, generator=generator) * 0.1, torch.randn(48, 2, generator=generator) * 0.1
    a, b = torch.randn(2, 48, generator=generator) * 0.1, torch.randn(192, 2, generator=generator) * 0.1
    (tmp_path / "models" / "loras").mkdir(parents=True)
    save_file({"lora_unet_layers_0_attn_to_q.lora_down.weight": down, "lora_unet_layers_0_attn_to_q.lora_up.weight": up,
               "lora_unet_layers_0_attn_to_q.alpha": torch.tensor(2.0),
               "diffusion_model.noise_refiner.0.feed_forward.linear_1.lora_A.weight": a,
               "diffusion_model.noise_refiner.0.feed_forward.linear_1.lora_B.weight": b},
              str(tmp_path / "models" / "loras" / "og2_lora.safetensors"))
    ctx = Ctx(tmp_path)
    base = UNETLoader(ctx, "omnigen2.safetensors", weight_dtype="default")  # type: ignore[arg-type]
    patched = LoraLoaderModelOnly(ctx, base, "og2_lora.safetensors", strength_model=0.5)  # type: ignore[arg-type]
    with patched.use() as module:
        assert torch.allclose(module.layers[0].attn.to_q.weight, model.layers[0].attn.to_q.weight + 0.5 * up @ down,
                              atol=1e-6)
        linear_1 = module.noise_refiner[0].feed_forward.linear_1.weight
        assert torch.allclose(linear_1, model.noise_refiner[0].feed_forward.linear_1.weight + 0.5 * b @ a, atol=1e-6)


def test_unetloaders_fp8_weight_dtype_stores_linears_in_one_byte(tmp_path: Path) -> None:
    from inkgraph.nodes.loaders import UNETLoader

    model = to.transformer(6)
    td.save(to.transformer_state(model), tmp_path / "models" / "diffusion_models" / "omnigen2.safetensors")
    loaded = UNETLoader(Ctx(tmp_path), "omnigen2.safetensors", weight_dtype="fp8_e4m3fn")  # type: ignore[arg-type]
    x, t, cap = torch.randn(1, 16, 4, 4), torch.tensor([0.4]), torch.randn(1, 5, 32)
    with loaded.use() as module, torch.no_grad():
        assert module.layers[1].feed_forward.linear_2.weight.dtype == torch.float8_e4m3fn
        ours, reference = module(x, t, cap), model(x, t, cap)
    assert torch.allclose(ours.float(), reference, atol=0.1 * reference.abs().max().item())


def test_a_gguf_omnigen2_computes_what_the_file_holds(tmp_path: Path) -> None:
    """As ComfyUI-GGUF users have it: Q8_0 blocks where a row holds whole blocks (the MLP's 192-wide
    input, the 64-wide patch embedders), F16 elsewhere."""
    from gguf import GGMLQuantizationType as Q

    from tests.fixtures import tiny_gguf

    model = to.transformer(8)
    path = tmp_path / "omnigen2-Q8_0.gguf"
    tiny_gguf.write(path, to.transformer_state(model), Q.Q8_0, arch="omnigen2", shape_fix=False)
    loaded, detected = load_diffusion_model(path, torch.float32)
    assert detected.family.name == "omnigen2" and type(loaded.layers[0].feed_forward.linear_2).__name__ == "GGUFLinear"
    x, t, cap = torch.randn(1, 16, 4, 4), torch.tensor([0.3]), torch.randn(1, 5, 32)
    with torch.no_grad():
        ours, reference = loaded(x, t, cap), model(x, t, cap)
    assert torch.allclose(ours, reference, atol=0.05 * reference.abs().max().item())


def test_the_original_layout_written_back_loads_to_the_same_model(tmp_path: Path) -> None:
    model = to.transformer(9)
    path = tmp_path / "omnigen2.safetensors"
    td.save(to.transformer_state(model), path, "model.diffusion_model.")
    loaded, detected = load_diffusion_model(path, torch.float32)
    written = detected.family.original_state(detected, loaded)
    again = tmp_path / "written.safetensors"
    save_file(written, str(again))
    reloaded, _ = load_diffusion_model(again, torch.float32)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in reloaded.state_dict().items())
