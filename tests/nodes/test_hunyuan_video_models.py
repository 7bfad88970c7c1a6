"""HunyuanVideo 1.5's model layer against plain references: the tiny transformer written in ComfyUI's
repackaged layout, Tencent's and ComfyUI's module names loads back to the same weights; the adapter's output
equals calling the diffusers module directly; the 3-D VAE written in Tencent's layout loads back to the same
weights, decodes as diffusers decodes (one latent frame: the causal and the unmasked attention agree) and
tiled decoding that covers the whole latent equals whole decoding; a scaled-fp8 file keeps its linear weights
in fp8; a LoRA in Tencent's names on the fused q/k/v patches diffusers' to_q, to_k and to_v by rows.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime
from inkgraph.nodes.diffusion.families import detect_file, load_diffusion_model
from tests.fixtures import tiny_dit as td
from tests.fixtures import tiny_hunyuan as th


@pytest.mark.parametrize("layout", ["repackaged", "tencent", "comfy"])
def test_every_layout_loads_back_to_the_same_weights(layout: str, tmp_path: Path) -> None:
    model = th.transformer(1)
    path = tmp_path / "hy.safetensors"
    td.save(th.transformer_state(model, layout), path, prefix="model.diffusion_model.")
    detected, _ = detect_file(path)
    loaded, _ = load_diffusion_model(path, torch.float32)
    assert detected.family.name == "hunyuan_video15" and detected.variant == ""
    assert detected.config["in_channels"] == 65 and detected.config["byt5_hidden_dim"] == th.BYT5_HIDDEN
    expected, found = model.state_dict(), loaded.state_dict()
    assert expected.keys() == found.keys() and all(torch.equal(expected[k], found[k]) for k in expected)


def test_the_adapter_equals_calling_the_diffusers_module(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = th.transformer(2).eval()
    path = tmp_path / "hy.safetensors"
    td.save(th.transformer_state(model), path)
    detected, _ = detect_file(path)
    loaded, _ = load_diffusion_model(path, torch.float32)
    adapter = detected.family.adapter(detected)
    x = torch.randn(1, 32, 2, 4, 4)
    context = torch.randn(1, 6, th.TEXT_WIDTH)
    ctx = SimpleNamespace(device=torch.device("cpu"), dtype=torch.float32, latent_shape=tuple(x.shape),
                          denoise_mask=None)
    timestep = torch.tensor([500.0])
    with torch.no_grad():
        conds = adapter.encode(loaded, context, {}, ctx)
        found = adapter.apply(loaded, x, timestep, conds)
        reference = model(hidden_states=torch.cat([x, torch.zeros(1, 33, 2, 4, 4)], dim=1), timestep=timestep,
                          encoder_hidden_states=context, encoder_attention_mask=torch.ones(1, 6, dtype=torch.bool),
                          encoder_hidden_states_2=torch.zeros(1, 0, th.BYT5_WIDTH),
                          encoder_attention_mask_2=torch.ones(1, 0, dtype=torch.bool),
                          image_embeds=torch.zeros(1, 0, th.IMAGE_WIDTH), return_dict=False)[0]
    assert found.shape == x.shape
    torch.testing.assert_close(found, reference, rtol=1e-4, atol=1e-5)


def test_the_vae_loads_from_tencents_layout_and_decodes_as_diffusers(tmp_path: Path) -> None:
    from inkgraph.nodes.diffusion import vae_files, video_vae

    model = th.vae(3).eval()
    path = tmp_path / "hunyuanvideo15_vae_fp16.safetensors"
    td.save(th.vae_state(model), path)
    loaded = vae_files.load(path, torch.float32)
    assert video_vae.is_video(loaded) and video_vae.spatial(loaded) == 16 and video_vae.temporal(loaded) == 4
    expected, found = model.state_dict(), loaded.state_dict()
    assert expected.keys() == found.keys() and all(torch.equal(expected[k], found[k]) for k in expected)
    torch.manual_seed(0)
    with torch.no_grad():
        latent = torch.randn(1, 32, 1, 2, 2)
        whole = video_vae.decode(loaded, latent)
        reference = model.decode(latent, return_dict=False)[0]
        assert whole.shape == (1, 32, 32, 3)
        torch.testing.assert_close(whole, ((reference[0, :, 0].permute(1, 2, 0) + 1) / 2).clamp(0, 1)[None],
                                   rtol=1e-4, atol=1e-5)
        frames = torch.rand(6, 32, 32, 3)  # 6 frames: the first and one group of 4 are encoded
        encoded = video_vae.encode(loaded, frames)
        assert encoded.shape == (1, 32, 2, 2, 2)
        torch.testing.assert_close(encoded, video_vae.encode(loaded, frames[:5]))
        assert torch.equal(video_vae.decode_tiled(loaded, encoded, 64, 8, 64, 2), video_vae.decode(loaded, encoded))


def test_scaled_fp8_keeps_linear_weights_in_fp8_and_the_time_embedders_in_the_compute_dtype(tmp_path: Path) -> None:
    from inkgraph.nodes.diffusion.weights import FP8Linear, dequantized

    model = th.transformer(4)
    state = th.transformer_state(model)  # ComfyUI's repackaged names, q/k/v fused as in the fp8 files
    linear = {k[: -len(".weight")] for k, v in state.items() if k.endswith(".weight") and v.ndim == 2
              and k.startswith(("double_blocks.", "time_in.", "txt_in.t_embedder."))}
    path = tmp_path / "hunyuanvideo1.5_480p_i2v_fp8_scaled.safetensors"
    td.save(td.scaled_fp8(state, linear), path, prefix="model.diffusion_model.")
    loaded, _ = load_diffusion_model(path, torch.float32)
    query = loaded.transformer_blocks[0].attn.to_q
    assert isinstance(query, FP8Linear) and query.weight.dtype == torch.float8_e4m3fn
    assert torch.allclose(dequantized(query), model.transformer_blocks[0].attn.to_q.weight, rtol=0.07, atol=1e-3)
    for name, module in loaded.named_modules():
        if name.startswith(("time_embed.", "context_embedder.time_text_embed.")) and hasattr(module, "weight"):
            assert module.weight.dtype == torch.float32, name


class _Ctx:
    """What the loader nodes read of a node context, over a runtime on ``root``."""

    def __init__(self, root: Path) -> None:
        runtime = Runtime.create(Settings(base_dir=root, cache="none"))
        self.models, self.folders, self.extra_data, self.node_id = runtime.models, runtime.folders, {}, "t"

    def progress(self, *args: object, **kwargs: object) -> None:
        return None

    def check_interrupted(self) -> None:
        return None


def test_a_lora_on_the_fused_qkv_patches_q_k_and_v_by_rows(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    from inkgraph.nodes.loaders import LoraLoaderModelOnly, UNETLoader

    model = th.transformer(5)
    td.save(th.transformer_state(model), tmp_path / "models" / "diffusion_models" / "hy.safetensors")
    width = th.WIDTH
    generator = torch.Generator().manual_seed(0)
    down, up = torch.randn(2, width, generator=generator) * 0.1, torch.randn(3 * width, 2, generator=generator) * 0.1
    (tmp_path / "models" / "loras").mkdir(parents=True)
    stem = "diffusion_model.double_blocks.0.img_attn_qkv"  # Tencent's names, as diffusion-pipe/musubi LoRAs
    save_file({stem + ".lora_down.weight": down, stem + ".lora_up.weight": up, stem + ".alpha": torch.tensor(2.0)},
              str(tmp_path / "models" / "loras" / "hy_lora.safetensors"))
    ctx = _Ctx(tmp_path)
    base = UNETLoader(ctx, "hy.safetensors", weight_dtype="default")  # type: ignore[arg-type]
    with base.use() as module:
        before = {n: getattr(module.transformer_blocks[0].attn, n).weight.clone() for n in ("to_q", "to_k", "to_v")}
    patched = LoraLoaderModelOnly(ctx, base, "hy_lora.safetensors", strength_model=1.0)  # type: ignore[arg-type]
    delta = (up @ down).chunk(3, dim=0)
    with patched.use() as module:
        for name, rows in zip(("to_q", "to_k", "to_v"), delta, strict=True):
            after = getattr(module.transformer_blocks[0].attn, name).weight
            assert torch.allclose(after - before[name], rows, atol=1e-5), name
