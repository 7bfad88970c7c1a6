"""MODEL_PATCH files (ModelPatchLoader): DiffSynth's Qwen-Image blockwise ControlNet and the Z-Image Turbo Fun
ControlNet Union, tiny and random in their real layouts — detected, built with exact weights, their patches
computed as ComfyUI computes them — and the nodes that put them on a MODEL (QwenImageDiffsynthControlnet,
ZImageFunControlnet). The Qwen-Image and Z-Image families' adapters run them; a family that cannot says so."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest
import torch

from inkgraph.engine.core.devices import DevicePolicy, ModelManager
from inkgraph.nodes import controlnet as nodes
from inkgraph.nodes.diffusion.control import patches
from inkgraph.nodes.diffusion.families.base import LatentFormat
from inkgraph.nodes.diffusion.families.flux import FLUX_LATENT, pack
from inkgraph.nodes.diffusion.state_dict import ModelFileError
from tests.fixtures import tiny_control as tc


@pytest.fixture(scope="module")
def manager() -> ModelManager:
    return ModelManager.with_policy(DevicePolicy())


class Vae:
    """A VAE handle over a tiny KL autoencoder (8× downscale, 16 latent channels)."""

    def __init__(self) -> None:
        from diffusers import AutoencoderKL

        self.model = tc.randomize(AutoencoderKL(
            in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 4,
            up_block_types=("UpDecoderBlock2D",) * 4, block_out_channels=(32,) * 4, layers_per_block=1,
            latent_channels=16, norm_num_groups=32), 3, scale=0.05)

    def use(self) -> Any:
        return nullcontext(self.model)

    def encode(self, pixels: torch.Tensor) -> torch.Tensor:
        from inkgraph.nodes.diffusion.vae_ops import encode

        return encode(self.model, pixels)


def blockwise_state(dim: int = 32, layers: int = 3, extra: int = 0, seed: int = 0) -> dict[str, torch.Tensor]:
    """DiffSynth's layout, written from ComfyUI's QwenImageBlockWiseControlNet names."""
    generator = torch.Generator().manual_seed(seed)

    def rand(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=generator) * 0.1

    state = {"img_in.weight": rand(dim, 64 + extra), "img_in.bias": rand(dim)}
    for i in range(layers):
        for name in ("x_rms", "y_rms"):
            state[f"controlnet_blocks.{i}.{name}.weight"] = 1 + rand(dim)
        for name in ("input_proj", "output_proj"):
            state[f"controlnet_blocks.{i}.{name}.weight"] = rand(dim, dim)
            state[f"controlnet_blocks.{i}.{name}.bias"] = rand(dim)
    return state


@pytest.mark.parametrize("extra", [0, 4])
def test_diffsynth_blockwise_patch_adds_its_block_output_to_the_image_tokens(tmp_path: Path, manager: ModelManager,
                                                                             extra: int) -> None:
    state = blockwise_state(extra=extra)
    path = tc.save(state, tmp_path / "qwen_image_canny_diffsynth_controlnet.safetensors")
    patch = patches.load(manager, path)
    assert patch.detected.name == "qwen_blockwise" and patch.detected.config == {
        "dim": 32, "num_layers": 3, "in_dim": 64, "additional_in_dim": extra}
    with patch.use() as net:
        assert all(torch.equal(net.state_dict()[k], v) for k, v in state.items())
    vae, latent = Vae(), LatentFormat(16, 0.5, 0.1)
    picture = torch.rand(1, 64, 64, 3, generator=torch.Generator().manual_seed(1))
    mask = torch.zeros(1, 1, 64, 64)
    mask[..., 32:] = 1.0
    applied = patches.DiffSynthPatch(patch, vae, picture, 0.75, mask if extra else None, latent)
    img, x = torch.randn(2, 16 + 3, 32), torch.zeros(2, 16, 8, 8)  # 16 image tokens, 3 reference ones after
    out = applied({"img": img.clone(), "x": x, "block_index": 2})["img"]
    hint = latent.process_in(vae.encode(picture))
    if extra:
        hint = torch.cat([hint, torch.nn.functional.interpolate(mask, size=(8, 8), mode="bilinear")], dim=1)
    rms = torch.nn.functional.rms_norm
    tokens = pack(hint) @ state["img_in.weight"].T + state["img_in.bias"]
    block = {k.split(".", 2)[2]: v for k, v in state.items() if k.startswith("controlnet_blocks.2.")}
    summed = rms(img[:, :16], (32,), block["x_rms.weight"], 1e-6) + rms(tokens, (32,), block["y_rms.weight"], 1e-6)
    hidden = torch.nn.functional.gelu(summed @ block["input_proj.weight"].T + block["input_proj.bias"])
    add = (hidden @ block["output_proj.weight"].T + block["output_proj.bias"]) * 0.75
    assert torch.allclose(out[:, :16], img[:, :16] + add, atol=1e-5)
    assert torch.equal(out[:, 16:], img[:, 16:])


def test_the_node_puts_the_patch_where_comfyui_does_and_other_families_refuse_it(tmp_path: Path,
                                                                                 manager: ModelManager) -> None:
    from inkgraph.nodes.diffusion.families.base import Family
    from inkgraph.nodes.diffusion.families.flux import FluxAdapter
    from inkgraph.nodes.diffusion.guidance import ModelRunner
    from inkgraph.nodes.diffusion.handles import ModelHandle
    from inkgraph.nodes.diffusion.patches.support import PatchNotSupported
    from tests.fixtures import tiny_dit as td

    patch = patches.load(manager, tc.save(blockwise_state(), tmp_path / "depth.safetensors"))
    model = ModelHandle(manager, "nothing", Family("flux"))
    picture = torch.rand(1, 64, 64, 4)
    mask = torch.ones(1, 64, 64)
    patched = nodes.QwenImageDiffsynthControlnet(model, patch, Vae(), picture, 1.0, mask)
    (found,) = patched.model_options.as_dict()["transformer_options"]["patches"]["double_block"]
    assert isinstance(found, patches.DiffSynthPatch) and found.image.shape[-1] == 3  # RGB only
    assert torch.equal(found.mask, torch.zeros(1, 1, 64, 64))  # inverted, as ComfyUI's node does
    with pytest.raises(PatchNotSupported, match="QwenImageDiffsynthControlnet needs 'double_block' patches"):
        ModelRunner(td.flux("dev"), FluxAdapter(FLUX_LATENT), None, patched.model_options.as_dict(), "flux")


def test_an_unknown_patch_names_what_it_holds(tmp_path: Path, manager: ModelManager) -> None:
    with pytest.raises(ModelFileError, match=r"odd\.safetensors holds no model patch.*w\.weight"):
        patches.load(manager, tc.save({"w.weight": torch.zeros(1)}, tmp_path / "odd.safetensors"))


def zimage_pair(refiner: str | None = None) -> tuple[Any, Any]:
    from diffusers import ZImageControlNetModel, ZImageTransformer2DModel

    main = tc.randomize(ZImageTransformer2DModel(
        all_patch_size=(2,), all_f_patch_size=(1,), in_channels=16, dim=64, n_layers=2, n_refiner_layers=2,
        n_heads=2, n_kv_heads=2, cap_feat_dim=32, axes_dims=[8, 12, 12], axes_lens=[64, 32, 32]), 1, scale=0.05)
    layers = 15 if refiner else 2
    net = tc.randomize(ZImageControlNetModel(
        control_layers_places=[i * round(30 / layers) for i in range(layers)],
        control_refiner_layers_places=[0, 1] if refiner else None, control_in_dim=33 if refiner else 16,
        add_control_noise_refiner=refiner, dim=64, n_refiner_layers=2, n_heads=2, n_kv_heads=2), 2, scale=0.05)
    return main, net


@pytest.mark.parametrize("refiner", [None, "control_noise_refiner"])
def test_zimage_fun_controlnet_loads_and_gives_residuals_for_its_layers(tmp_path: Path, manager: ModelManager,
                                                                        refiner: str | None) -> None:
    from diffusers import ZImageControlNetModel

    main, reference = zimage_pair(refiner)
    path = tc.save(reference.state_dict(), tmp_path / f"Z-Image-Turbo-Fun-Controlnet-Union-{refiner}.safetensors")
    patch = patches.load(manager, path)
    config = patch.detected.config
    assert patch.detected.name == "zimage_fun" and config["control_layers_places"] == list(
        reference.config.control_layers_places)
    assert (config["control_in_dim"], config["add_control_noise_refiner"]) == (reference.config.control_in_dim,
                                                                               refiner)
    picture = torch.rand(1, 64, 64, 3, generator=torch.Generator().manual_seed(3))
    vae = Vae()
    applied = patches.ZImageFunPatch(patch, vae, picture, 0.5, picture if refiner else None,
                                     torch.ones(1, 1, 64, 64) if refiner else None)
    latents = [torch.randn(16, 1, 8, 8, generator=torch.Generator().manual_seed(4))]
    captions = [torch.randn(7, 32, generator=torch.Generator().manual_seed(5))]
    t = torch.tensor([0.4])
    with torch.no_grad():
        found = applied.residuals(main, latents, t, captions)
        with patch.use() as net:
            assert net.t_embedder is None  # the main model's modules were lent for the call only
        ZImageControlNetModel.from_transformer(reference, main)
        context = applied.context(reference, 8, 8)
        expected = reference(latents, t, captions, [context], conditioning_scale=0.5)
    assert sorted(found) == sorted(expected) == list(reference.config.control_layers_places)
    assert all(torch.allclose(found[k], expected[k], atol=1e-5) for k in found)
    hint = FLUX_LATENT.process_in(vae.encode(picture))
    assert torch.allclose(context[:16, 0], hint[0], atol=1e-5)  # the hint in the Flux VAE's latent format
    with torch.no_grad():
        plain = main(latents, t, captions, return_dict=False)[0][0]
        steered = main(latents, t, captions, controlnet_block_samples=found, return_dict=False)[0][0]
    assert not torch.allclose(plain, steered, atol=1e-4)


def test_zimage_node_puts_one_patch_in_both_places(tmp_path: Path, manager: ModelManager) -> None:
    from inkgraph.nodes.diffusion.families.base import Family
    from inkgraph.nodes.diffusion.handles import ModelHandle

    _, reference = zimage_pair()
    patch = patches.load(manager, tc.save(reference.state_dict(), tmp_path / "fun.safetensors"))
    model = ModelHandle(manager, "nothing", Family("z_image"))
    patched = nodes.ZImageFunControlnet(model, patch, Vae(), 0.8, image=torch.rand(1, 64, 64, 3))
    found = patched.model_options.as_dict()["transformer_options"]["patches"]
    assert found["noise_refiner"][0] is found["double_block"][0]
    assert found["double_block"][0].node_name == "ZImageFunControlnet" and found["double_block"][0].strength == 0.8
