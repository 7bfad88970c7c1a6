"""Inpainting and InstructPix2Pix UNets: a 9-channel UNet file is detected with its input width and driven with
ComfyUI's extra channels (the rounded mask, then the masked image's latent in the model's space; without a mask,
ones and a black image's latent); an 8-channel one gets the input image's latent as it is; VAEEncodeForInpaint
grows its noise mask as ComfyUI's convolution does."""

from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path
from types import SimpleNamespace

import torch

from inkgraph.nodes.diffusion.checkpoint import METADATA_KEY
from inkgraph.nodes.diffusion.conds import EncodeContext
from inkgraph.nodes.diffusion.families import detect_file, load_diffusion_model
from inkgraph.nodes.diffusion.families.sd import SD_LATENT
from inkgraph.nodes.diffusion.ldm_format import unet_diffusers_to_ldm
from inkgraph.nodes.diffusion.unet import BLANK_LATENT, UNetAdapter
from tests.fixtures import tiny_control as tc


def unet(in_channels: int, seed: int = 0) -> torch.nn.Module:
    from diffusers import UNet2DConditionModel

    return tc.randomize(UNet2DConditionModel(
        sample_size=8, in_channels=in_channels, out_channels=4, layers_per_block=1, block_out_channels=(32, 64),
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=32, attention_head_dim=8, norm_num_groups=32), seed, scale=0.05)


def ctx(mask: torch.Tensor | None = None, latent: torch.Tensor | None = None) -> EncodeContext:
    return EncodeContext("positive", (1, 4, 8, 8), torch.device("cpu"), torch.float32, latent, mask)


def test_an_inpainting_unet_file_loads_with_nine_input_channels(tmp_path: Path) -> None:
    model = unet(9)
    state = unet_diffusers_to_ldm(model.state_dict(), model.config)
    path = tmp_path / "sd-v1-5-inpainting.safetensors"
    tc.save(state, path, {METADATA_KEY: json.dumps({"kind": "sd1", "unet": dict(model.config)}, default=list)})
    detected, _ = detect_file(path)
    loaded, _ = load_diffusion_model(path, torch.float32, detected=detected)
    assert detected.family.name == "sd1" and loaded.config.in_channels == 9
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in model.state_dict().items())


def test_inpainting_unet_gets_mask_and_masked_image_latent() -> None:
    model = unet(9, 1)
    adapter = UNetAdapter(SD_LATENT)
    text = torch.randn(1, 5, 32)
    masked = torch.randn(1, 4, 8, 8)
    pixel_mask = torch.zeros(1, 1, 64, 64)
    pixel_mask[..., :, 32:] = 1.0  # the right half is repainted
    options = {"concat_latent_image": masked, "concat_mask": pixel_mask}
    conds = adapter.encode(model, text, options, ctx())
    expected_mask = torch.zeros(1, 1, 8, 8)
    expected_mask[..., 4:] = 1.0
    assert torch.equal(conds["concat"], torch.cat([expected_mask, SD_LATENT.process_in(masked)], dim=1))
    x_in, t = torch.randn(1, 4, 8, 8), torch.tensor([500.0])
    with torch.no_grad():
        out = adapter.apply(model, x_in, t, conds)
        direct = model(torch.cat([x_in, conds["concat"]], dim=1), t, encoder_hidden_states=text, return_dict=False)[0]
    assert torch.equal(out, direct)
    # no mask anywhere: everything repainted over a black image
    bare = adapter.encode(model, text, {}, ctx(latent=torch.zeros(1, 4, 8, 8)))["concat"]
    assert torch.equal(bare[:, :1], torch.ones(1, 1, 8, 8))
    assert torch.allclose(bare[0, 1:, 0, 0], torch.tensor(BLANK_LATENT))
    # the sampler's noise mask (the latent's own inpainting) and the input latent when no masked image is given
    latent = torch.randn(1, 4, 8, 8)
    noise_mask = torch.zeros(1, 4, 8, 8)
    noise_mask[..., :2, :] = 0.7
    found = adapter.encode(model, text, {}, ctx(noise_mask, latent))["concat"]
    assert torch.equal(found[:, :1], noise_mask[:, :1].round()) and torch.equal(found[:, 1:], latent)


def test_instruct_pix2pix_unet_gets_the_image_latent_as_it_is() -> None:
    model = unet(8, 2)
    image = torch.randn(1, 4, 4, 4)
    conds = UNetAdapter(SD_LATENT).encode(model, torch.randn(1, 5, 32), {"concat_latent_image": image}, ctx())
    scaled = torch.nn.functional.interpolate(image, size=(8, 8), mode="bilinear")
    assert torch.allclose(conds["concat"], scaled)


def test_vae_encode_for_inpaint_grows_the_mask_as_comfyui() -> None:
    from inkgraph.nodes.vae import VAEEncodeForInpaint

    vae = SimpleNamespace(use=lambda: nullcontext(_FlatVae()))
    mask = torch.zeros(1, 32, 32)
    mask[0, 10, 10] = 1.0
    latent = VAEEncodeForInpaint(SimpleNamespace(check_interrupted=lambda: None), torch.rand(1, 32, 32, 3), vae, mask,
                                 6)
    grown = latent["noise_mask"][0, 0]
    expected = torch.zeros(32, 32)
    expected[8:14, 8:14] = 1.0  # a 6×6 kernel padded by 3: two pixels before the point, three after
    assert torch.equal(grown, expected)
    same = VAEEncodeForInpaint(SimpleNamespace(check_interrupted=lambda: None), torch.rand(1, 32, 32, 3), vae, mask, 0)
    assert torch.equal(same["noise_mask"][0, 0], mask[0])


class _FlatVae(torch.nn.Module):
    """A stand-in VAE: the encoder averages 8×8 blocks (enough for the mask logic)."""

    def __init__(self) -> None:
        super().__init__()
        self.config = SimpleNamespace(block_out_channels=(1, 1, 1, 1))
        self.weight = torch.nn.Parameter(torch.zeros(1))

    def encode(self, x: torch.Tensor) -> SimpleNamespace:
        pooled = torch.nn.functional.avg_pool2d(x, 8)
        return SimpleNamespace(latent_dist=SimpleNamespace(mode=lambda: torch.cat([pooled, pooled[:, :1]], dim=1)))


def test_an_sd21_unclip_unet_is_read_from_its_shapes_and_takes_the_image_as_class_embedding() -> None:
    """An SD2.1 unCLIP UNet (label embedding from the noise-augmented image embedding, context 1024) is told
    from SDXL by its context; it gets ComfyUI's unclip_adm vector as diffusers' class labels (zeros without an
    image)."""
    from diffusers import UNet2DConditionModel

    from inkgraph.nodes.diffusion import unclip
    from inkgraph.nodes.diffusion.families import detect
    from inkgraph.nodes.diffusion.state_dict import TensorIndex, TensorInfo

    config = dict(sample_size=8, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(32, 64),
                  down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                  up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=1024,
                  attention_head_dim=(1, 1), use_linear_projection=True, class_embed_type="projection",
                  projection_class_embeddings_input_dim=64, norm_num_groups=32)
    with torch.device("meta"):
        shapes = UNet2DConditionModel(**config)
    ldm = unet_diffusers_to_ldm(shapes.state_dict(), shapes.config)
    index = TensorIndex({k: TensorInfo(tuple(v.shape), "F32") for k, v in ldm.items()}, {})
    detected = detect(index, "sd21-unclip-h.safetensors")
    assert detected.family.name == "sd2" and detected.extra.get("unclip")
    assert detected.config["class_embed_type"] == "projection" and "addition_embed_type" not in detected.config
    assert detected.config["projection_class_embeddings_input_dim"] == 64
    model = tc.randomize(UNet2DConditionModel(**config), 5, scale=0.05)
    stats = (torch.full((1, 32), 0.1), torch.full((1, 32), 2.0))
    adapter = UNetAdapter(SD_LATENT, stats)
    text = torch.randn(1, 3, 1024)
    assert torch.equal(adapter.encode(model, text, {}, ctx())["class_labels"], torch.zeros(1, 64))
    image = torch.randn(1, 32, generator=torch.Generator().manual_seed(6))
    entry = {"clip_vision_output": SimpleNamespace(image_embeds=image), "strength": 0.5, "noise_augmentation": 0.1}
    conds = adapter.encode(model, text, {"unclip_conditioning": [entry]}, ctx(None, None))
    level = round(999 * 0.1)
    cumprod = unclip._alphas_cumprod()[level]
    noise = torch.randn(1, 32, generator=torch.Generator().manual_seed(-10 + 0))
    scaled = (image - 0.1) / 2.0
    augmented = (scaled * float(cumprod.sqrt()) + noise * float((1 - cumprod).sqrt())) * 2.0 + 0.1
    expected = torch.cat([augmented, unclip.timestep_embedding(torch.tensor([level]), 32)], dim=1) * 0.5
    assert torch.allclose(conds["class_labels"], expected, atol=1e-5)
    with torch.no_grad():
        out = adapter.apply(model, torch.randn(1, 4, 8, 8), torch.tensor([10.0]), conds)
    assert out.shape == (1, 4, 8, 8)
