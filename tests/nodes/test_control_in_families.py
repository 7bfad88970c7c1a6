"""ControlNets and model patches inside the DiT families that run them: Qwen-Image adds InstantX ControlNet
residuals and runs ``double_block`` patches (QwenImageDiffsynthControlnet) after each block, Z-Image runs the
Z-Image Fun ControlNet's patch as diffusers' ``controlnet_block_samples``. Each is checked against diffusers'
own way of adding per-block samples; a family that takes no ControlNet refuses one by name."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from inkgraph.engine.core.devices import DevicePolicy, ModelManager
from inkgraph.nodes import controlnet as nodes
from inkgraph.nodes.diffusion import model_sampling as ms
from inkgraph.nodes.diffusion.control import load
from inkgraph.nodes.diffusion.control import patches as model_patches
from inkgraph.nodes.diffusion.control.base import ControlNet
from inkgraph.nodes.diffusion.control.run import ControlRun
from inkgraph.nodes.diffusion.families.flux import pack
from inkgraph.nodes.diffusion.families.z_image import ZImageAdapter
from inkgraph.nodes.diffusion.guidance import ModelRunner
from tests.fixtures import tiny_control as tc
from tests.fixtures import tiny_qwen as tq
from tests.nodes.test_control_patches import Vae, zimage_pair
from tests.nodes.test_controlnets import FakeVae, image

FLOW = ms.combine(ms.ModelSamplingFlux, ms.CONST, shift=1.15)


@pytest.fixture(scope="module")
def manager() -> ModelManager:
    return ModelManager.with_policy(DevicePolicy())


@pytest.fixture(scope="module")
def qwen(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    """A tiny Qwen-Image transformer loaded through the family (its position embedding Inkgraph's)."""
    from inkgraph.nodes.diffusion.families import detect_file, load_diffusion_model

    path = tmp_path_factory.mktemp("qwen") / "qwen_image_2512_bf16.safetensors"
    tc.save(tq.transformer_state(tq.transformer(3)), path)
    detected, _ = detect_file(path)
    module, _ = load_diffusion_model(path, torch.float32, detected=detected)
    return module, detected.family.adapter(detected)


def with_block_samples(module: Any, samples: list[torch.Tensor]) -> Any:
    """``module`` called with diffusers' own ``controlnet_block_samples`` (added after each block)."""
    original = module.forward

    def forward(*args: Any, **kwargs: Any) -> Any:
        return original(*args, controlnet_block_samples=samples, **kwargs)

    module.forward = forward
    return module


def encoded(adapter: Any, module: Any, context: torch.Tensor, x: torch.Tensor) -> dict[str, torch.Tensor]:
    ctx = SimpleNamespace(device=torch.device("cpu"), dtype=torch.float32, latent_shape=tuple(x.shape))
    return adapter.encode(module, context, {}, ctx)  # type: ignore[no-any-return]


def test_qwen_image_adds_instantx_residuals_as_diffusers_adds_block_samples(qwen: tuple[Any, Any], tmp_path: Path,
                                                                           manager: ModelManager) -> None:
    from diffusers import QwenImageControlNetModel

    module, adapter = qwen
    net = tc.randomize(QwenImageControlNetModel(
        patch_size=2, in_channels=64, out_channels=16, num_layers=2, attention_head_dim=tq.HEAD,
        num_attention_heads=2, joint_attention_dim=tq.TEXT_WIDTH, axes_dims_rope=(4, 14, 14)), 9)
    cnet = ControlNet(load(manager, tc.save(net.state_dict(), tmp_path / "Qwen-Image-InstantX-ControlNet.safetensors")))
    vae, latent = FakeVae(16), adapter.latent_format
    context = torch.randn(1, 5, tq.TEXT_WIDTH, generator=torch.Generator().manual_seed(2))
    positive, _ = nodes.ControlNetApplyAdvanced([[context, {}]], [[context, {}]], cnet, image(3), 0.8, 0.0, 1.0, vae)
    x = torch.randn(1, 16, 8, 8, generator=torch.Generator().manual_seed(4))
    t = torch.tensor([0.5])
    run = ControlRun({cnet.model.key: manager.get(cnet.model.key, lambda: None)}, FLOW, latent, x.device, x.dtype)
    conds = encoded(adapter, module, context, x)
    with torch.no_grad():
        steered = adapter.apply(module, x, t, {**conds, "control": run.call(positive[0][1]["control"], t, 1)})
        hint = latent.process_in(vae.encode(image(3)))
        samples = net(hidden_states=pack(x), controlnet_cond=pack(hint), encoder_hidden_states=context,
                      timestep=t, img_shapes=[[(1, 4, 4)]], return_dict=False)
        reference = adapter.apply(with_block_samples(module, [s * 0.8 for s in samples]), x, t, conds)
        del module.forward
        plain = adapter.apply(module, x, t, conds)
    assert torch.allclose(steered, reference, atol=1e-5)
    assert not torch.allclose(steered, plain, atol=1e-4)


def test_qwen_image_runs_double_block_patches_after_each_block(qwen: tuple[Any, Any]) -> None:
    module, adapter = qwen
    context = torch.randn(1, 5, tq.TEXT_WIDTH, generator=torch.Generator().manual_seed(5))
    x = torch.randn(1, 16, 8, 8, generator=torch.Generator().manual_seed(6))
    adds = [torch.randn(1, 16, 64, generator=torch.Generator().manual_seed(7 + i)) * 0.3 for i in range(2)]
    seen: list[tuple[int, tuple[int, ...]]] = []

    def patch(args: dict[str, Any]) -> dict[str, Any]:
        seen.append((args["block_index"], tuple(args["x"].shape)))
        return {**args, "img": args["img"] + adds[args["block_index"]]}

    options = {"patches": {"double_block": [patch]}}
    runner = ModelRunner(module, adapter, FLOW, {"transformer_options": options}, "qwen_image")
    conds = encoded(adapter, module, context, x)
    t = torch.tensor([0.7])
    with torch.no_grad():
        patched = runner._network(x, t, conds, options)
        reference = adapter.apply(with_block_samples(module, adds), x, t, conds)
        del module.forward
    assert seen == [(0, (1, 16, 8, 8)), (1, (1, 16, 8, 8))]  # ComfyUI's arguments: the latent, block by block
    assert torch.allclose(patched, reference, atol=1e-5)
    with torch.no_grad():  # the patch is the call's only: the next call without it is the plain model
        assert torch.allclose(runner._network(x, t, conds, {}), adapter.apply(module, x, t, conds), atol=0)


def test_z_image_runs_the_fun_controlnet_patch_as_block_samples(tmp_path: Path, manager: ModelManager) -> None:
    main, reference = zimage_pair()
    patch = model_patches.load(manager, tc.save(reference.state_dict(), tmp_path / "fun.safetensors"))
    applied = model_patches.ZImageFunPatch(patch, Vae(), torch.rand(1, 64, 64, 3), 0.7)
    options = {"patches": {"double_block": [applied], "noise_refiner": [applied]}}  # as the node puts it
    adapter = ZImageAdapter()
    runner = ModelRunner(main, adapter, FLOW, {"transformer_options": options}, "z_image")
    x = torch.randn(1, 16, 8, 8, generator=torch.Generator().manual_seed(8))
    conds = {"context": torch.randn(1, 7, 32, generator=torch.Generator().manual_seed(9))}
    t = torch.tensor([0.4])
    with torch.no_grad():
        steered = runner._network(x, t, conds, options)
        found = applied.residuals(main, [x[0].unsqueeze(1)], (1.0 - t), list(conds["context"]))
        original = main.forward

        def forward(*args: Any, **kwargs: Any) -> Any:
            return original(*args, controlnet_block_samples=found, **kwargs)

        main.forward = forward
        expected = adapter.apply(main, x, t, conds)
        del main.forward
        plain = adapter.apply(main, x, t, conds)
    assert torch.allclose(steered, expected, atol=1e-5)
    assert not torch.allclose(steered, plain, atol=1e-4)  # applied once, though listed under two names


def test_a_family_without_controlnets_refuses_one_by_name() -> None:
    main, _ = zimage_pair()
    runner = ModelRunner(main, ZImageAdapter(), FLOW, {}, "z_image")
    runner.controls = SimpleNamespace(call=lambda control, t, entries: object())
    x = torch.randn(1, 16, 8, 8)
    context = torch.randn(1, 7, 32)
    with pytest.raises(ValueError, match="ControlNets cannot steer 'z_image' models"):
        runner.apply_model(x, torch.tensor([0.5]), {}, context=context, control=object())
