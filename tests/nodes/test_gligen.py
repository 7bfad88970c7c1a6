"""GLIGEN (issue 19): the loader reads the real file layout, the fuser and position net compute what GLIGEN's
modules compute (checked against plain re-implementations), the boxes are placed as ComfyUI places them, the
fusers run in each transformer block after self-attention, in transformer order, and a sample with text boxes
runs and differs from one without (and equals it when the fusers' gates are 0).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime
from inkgraph.nodes import conditioning as cn
from inkgraph.nodes import gligen as gl
from inkgraph.nodes.diffusion import gligen as model
from tests.fixtures import tiny_gligen
from tests.fixtures.tiny_sd import save_single_file
from tests.nodes.test_lora import Ctx


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gligen")
    save_single_file("sd1", root / "models" / "checkpoints" / "tiny.safetensors", seed=3)
    tiny_gligen.save(root / "models" / "gligen" / "boxes.safetensors", seed=1)
    tiny_gligen.save(root / "models" / "gligen" / "prefixed.safetensors", seed=1, prefix="model.diffusion_model.")
    tiny_gligen.save(root / "models" / "gligen" / "shut.safetensors", seed=1, alpha=0.0)
    (root / "models" / "gligen" / "not_gligen.safetensors").write_bytes(
        (root / "models" / "checkpoints" / "tiny.safetensors").read_bytes())
    return root


@pytest.fixture(scope="module")
def loaded(base: Path) -> tuple[Ctx, Any, Any]:
    from inkgraph.nodes.loaders import CheckpointLoaderSimple

    ctx = Ctx(Runtime.create(Settings(base_dir=base, cache="none")))
    unet, clip, _ = CheckpointLoaderSimple(ctx, ckpt_name="tiny.safetensors")
    return ctx, unet, clip


def test_loader_reads_the_real_key_layout(loaded: tuple[Ctx, Any, Any]) -> None:
    ctx, _, _ = loaded
    state = tiny_gligen.state_dict(seed=1)
    for name in ("boxes.safetensors", "prefixed.safetensors"):
        handle = gl.GLIGENLoader(ctx, gligen_name=name)
        with handle.use() as g:
            assert [tuple(f.linear.weight.shape) for f in g.module_list] == [(32, 32), (64, 32), (32, 32), (32, 32)]
            assert [f.attn.heads for f in g.module_list] == [1, 1, 1, 1] and g.key_dim == 32
            assert torch.equal(g.module_list[1].attn.to_k.weight,
                               state["middle_block.1.transformer_blocks.0.fuser.attn.to_k.weight"].half().float())
            assert float(g.module_list[3].alpha_dense) == pytest.approx(0.5, abs=1e-3)
            assert tuple(g.position_net.linears[0].weight.shape) == (64, 32 + 64)
            assert torch.equal(g.position_net.null_position_feature,
                               state["position_net.null_position_feature"].half().float())
    with pytest.raises(ValueError, match="not_gligen.safetensors is not a GLIGEN model"):
        gl.GLIGENLoader(ctx, gligen_name="not_gligen.safetensors")
    assert model._heads(320, 768) == (8, 40) and model._heads(1280, 1024) == (20, 64)  # ComfyUI's head rules


def test_fuser_matches_a_plain_reimplementation() -> None:
    torch.manual_seed(0)
    fuser = model.GatedSelfAttentionDense(32, 24, heads=2, dim_head=16)
    with torch.no_grad():
        for p in fuser.parameters():
            p.copy_(torch.randn_like(p) * 0.2)
    x, objs = torch.randn(2, 6, 32), torch.randn(2, 3, 24)
    tokens = torch.cat([x, fuser.linear(objs)], dim=1)
    n = F.layer_norm(tokens, (32,), fuser.norm1.weight, fuser.norm1.bias)
    a = fuser.attn
    q, k, v = (t.view(2, 9, 2, 16).transpose(1, 2) for t in (a.to_q(n), a.to_k(n), a.to_v(n)))
    weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(16), dim=-1)
    attended = a.to_out[0]((weights @ v).transpose(1, 2).reshape(2, 9, 32))[:, :6]
    y = x + torch.tanh(fuser.alpha_attn) * attended
    hidden, gate = fuser.ff.net[0].proj(F.layer_norm(y, (32,), fuser.norm2.weight, fuser.norm2.bias)).chunk(2, -1)
    expected = y + torch.tanh(fuser.alpha_dense) * fuser.ff.net[2](hidden * F.gelu(gate))
    with torch.no_grad():
        assert torch.allclose(fuser(x, objs), expected, atol=1e-5)


def test_boxes_and_position_net_as_comfyui(loaded: tuple[Ctx, Any, Any]) -> None:
    ctx, _, _ = loaded
    with gl.GLIGENLoader(ctx, gligen_name="boxes.safetensors").use() as g, torch.no_grad():
        pooled = torch.randn(1, 32)
        objs = g.objects((2, 4, 8, 16), [(pooled, 2, 4, 1, 3)], torch.device("cpu"))
        boxes = torch.zeros(2, 30, 4)
        boxes[:, 0] = torch.tensor([3 / 16, 1 / 8, 7 / 16, 3 / 8])  # (x1, y1, x2, y2) over the latent's width, height
        masks = torch.zeros(2, 30)
        masks[:, 0] = 1.0
        texts = torch.zeros(2, 30, 32)
        texts[:, 0] = pooled
        net = g.position_net
        fourier = torch.cat([f(freq * boxes) for freq in 100 ** (torch.arange(8) / 8) for f in (torch.sin, torch.cos)],
                            -1)
        m = masks.unsqueeze(-1)
        inputs = torch.cat([texts * m + (1 - m) * net.null_positive_feature,
                            fourier * m + (1 - m) * net.null_position_feature], -1)
        assert torch.allclose(objs, net.linears(inputs), atol=1e-5)
        assert objs.shape == (2, 30, 32)
        empty = g.objects((1, 4, 8, 8), None, torch.device("cpu"))  # ComfyUI's set_empty: only null features
        assert torch.allclose(empty[0, 0], empty[0, 29])
        with pytest.raises(ValueError, match="at most 30"):
            g.objects((1, 4, 8, 8), [(pooled, 1, 1, 0, 0)] * 31, torch.device("cpu"))


def test_middle_patch_runs_after_self_attention_in_transformer_order(loaded: tuple[Ctx, Any, Any]) -> None:
    from inkgraph.nodes.diffusion.guidance import BasicGuider, denoiser_for
    from inkgraph.nodes.diffusion.model_api import model_sampling_of

    ctx, unet_model, clip = loaded
    positive = cn.CLIPTextEncode(ctx, text="a cat", clip=clip)
    seen: list[tuple[Any, int, int]] = []
    expected_states: list[torch.Tensor] = []
    got_states: list[torch.Tensor] = []

    def spy(x: torch.Tensor, extra: dict[str, Any]) -> torch.Tensor:
        seen.append((extra["block"], extra["block_index"], extra["transformer_index"]))
        got_states.append(x.clone())
        return x

    patched = unet_model.with_options(unet_model.model_options.with_patch("middle_patch", spy))
    x = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    with unet_model.use() as unet, torch.no_grad():
        plain = denoiser_for(unet, model_sampling_of(unet_model), BasicGuider(unet_model, positive), (1, 4, 8, 8))(
            x, torch.tensor(3.0))
        handles = []
        residual: dict[int, torch.Tensor] = {}
        for n, block in enumerate(b for b in unet.modules() if type(b).__name__ == "BasicTransformerBlock"):
            def before(module: Any, args: Any, kwargs: Any, n: int = n) -> None:
                residual[n] = args[0] if args else kwargs["hidden_states"]

            def after(module: Any, args: Any, output: torch.Tensor, n: int = n) -> None:
                expected_states.append(output + residual[n])  # what the block adds its self-attention to

            handles += [block.register_forward_pre_hook(before, with_kwargs=True),
                        block.attn1.register_forward_hook(after)]
        try:
            out = denoiser_for(unet, model_sampling_of(unet_model), BasicGuider(patched, positive), (1, 4, 8, 8))(
                x, torch.tensor(3.0))
        finally:
            for handle in handles:
                handle.remove()
    assert seen == [(("input", 1), 0, 0), (("middle", 0), 0, 1), (("output", 2), 0, 2), (("output", 3), 0, 3)]
    assert len(got_states) == len(expected_states) == 4
    assert all(torch.allclose(g, e, atol=1e-6) for g, e in zip(got_states, expected_states, strict=True))
    assert torch.equal(out, plain)  # an identity middle patch changes nothing
    assert not any(hasattr(b, "fuser") for b in unet.modules() if type(b).__name__ == "BasicTransformerBlock")


def test_text_box_apply_keeps_comfyui_positions(loaded: tuple[Ctx, Any, Any]) -> None:
    from inkgraph.nodes.diffusion.text import tokenizer

    ctx, _, clip = loaded
    handle = gl.GLIGENLoader(ctx, gligen_name="boxes.safetensors")
    start = cn.CLIPTextEncode(ctx, text="a park", clip=clip)
    one = gl.GLIGENTextBoxApply(ctx, start, clip, handle, text="a dog", width=32, height=64, x=8, y=16)
    kind, value, boxes = one[0][1]["gligen"]
    assert kind == "position" and value is handle and "gligen" not in start[0][1]
    assert [b[1:] for b in boxes] == [(8, 4, 2, 1)]  # (h, w, y, x) in latent cells
    ids = tokenizer()("a dog", padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids
    with clip.by_slot() as encoders, torch.no_grad():
        reference = encoders["clip_l"](input_ids=ids).pooler_output
    assert torch.allclose(boxes[0][0], reference, atol=1e-5)  # CLIP's end-token state, unprojected
    two = gl.GLIGENTextBoxApply(ctx, one, clip, handle, text="a ball", width=16, height=16, x=40, y=0)
    assert [b[1:] for b in two[0][1]["gligen"][2]] == [(8, 4, 2, 1), (2, 2, 0, 5)]


def sample(ctx: Ctx, unet_model: Any, positive: Any, negative: Any, cfg: float) -> torch.Tensor:
    from inkgraph.nodes.diffusion.ksampler import sample as ksample

    with torch.no_grad():
        out = ksample(ctx, unet_model, 4, 3, cfg, "euler", "normal", positive, negative,  # type: ignore[arg-type]
                      {"samples": torch.zeros(1, 4, 8, 8)})
    return out["samples"]  # type: ignore[no-any-return]


def test_a_sample_with_text_boxes_runs_and_differs(loaded: tuple[Ctx, Any, Any]) -> None:
    from inkgraph.nodes.diffusion.guidance import CFGGuider, denoiser_for
    from inkgraph.nodes.diffusion.model_api import model_sampling_of

    ctx, unet_model, clip = loaded
    positive, negative = (cn.CLIPTextEncode(ctx, text=t, clip=clip) for t in ("a park", "blurry"))
    boxed = gl.GLIGENTextBoxApply(ctx, positive, clip, gl.GLIGENLoader(ctx, gligen_name="boxes.safetensors"),
                                  text="a dog", width=32, height=32, x=0, y=16)
    plain = sample(ctx, unet_model, positive, negative, 5.0)
    with_boxes = sample(ctx, unet_model, boxed, negative, 5.0)
    assert torch.isfinite(with_boxes).all() and (with_boxes - plain).abs().max() > 1e-4
    with unet_model.use() as unet:  # the negative gets the positive's boxes (ComfyUI's apply_empty_x_to_equal_area)
        d = denoiser_for(unet, model_sampling_of(unet_model), CFGGuider(unet_model, boxed, negative, 5.0),
                         (1, 4, 8, 8))
        assert d.conds["negative"][0].options["gligen"] is boxed[0][1]["gligen"]
    shut = gl.GLIGENTextBoxApply(ctx, positive, clip, gl.GLIGENLoader(ctx, gligen_name="shut.safetensors"),
                                 text="a dog", width=32, height=32, x=0, y=16)
    assert torch.equal(sample(ctx, unet_model, shut, negative, 1.0), sample(ctx, unet_model, positive, negative, 1.0))
