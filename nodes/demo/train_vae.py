"""Stage 1 of ``inkgraph train-demo``: the autoencoder, trained from nothing or, from an earlier model, its
decoder refined."""

from __future__ import annotations

import random
from typing import Any

import torch
import torch.nn.functional as F

from . import architecture as arch
from .scenes import random_scene, render
from .stages import SHARES, Settings, Stage, Start, to_a_tenth, to_tensor


def train_vae(settings: Settings, start: Start | None = None) -> Any:
    if start is not None:
        return refine_decoder(settings, start)
    stage = Stage("vae", settings, SHARES["vae"] * settings.minutes * 60)
    vae = arch.build_vae().to(settings.device)
    optimizer = torch.optim.AdamW(vae.parameters(), lr=1e-3, weight_decay=0.0)
    stage.restore(vae, optimizer)
    if stage.state.get("done"):
        return vae.eval().requires_grad_(False)

    def step(index: int) -> float:
        rng = random.Random(settings.seed * 1_000_003 + index)
        # Small crops first (the VAE is local; 16× cheaper per sample than whole scenes), then larger ones so
        # the mid-block attention learns whole-image statistics.
        # Three crops in four are centred near the shape: a random crop mostly shows background, and a VAE
        # trained on those reproduces backgrounds exactly and shape colours as browns and greys.
        crop = 32 if stage.elapsed < 0.75 * stage.budget_s else 64
        crops = []
        for _ in range(8):
            scene = random_scene(rng)
            if rng.random() < 0.75:
                left, top, right, bottom = scene.box(128)
                cx = (left + right) / 2 + rng.uniform(-crop / 3, crop / 3)
                cy = (top + bottom) / 2 + rng.uniform(-crop / 3, crop / 3)
                x = int(min(max(0.0, cx - crop / 2), 128 - crop)) // 8 * 8
                y = int(min(max(0.0, cy - crop / 2), 128 - crop)) // 8 * 8
            else:
                x, y = rng.randrange(0, 129 - crop, 8), rng.randrange(0, 129 - crop, 8)
            crops.append(render(scene).crop((x, y, x + crop, y + crop)))
        pixels = to_tensor(crops).to(settings.device)
        posterior = vae.encode(pixels).latent_dist
        reconstruction = vae.decode(posterior.mode()).sample
        loss = F.l1_loss(reconstruction, pixels) + 0.5 * F.mse_loss(reconstruction, pixels) \
            + 1e-6 * posterior.kl().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.item()

    stage.run(step, lambda: {"model": vae.state_dict(), "optimizer": optimizer.state_dict()})
    stage.save({**stage.state, "done": True})
    return vae.eval().requires_grad_(False)


def refine_decoder(settings: Settings, start: Start) -> Any:
    """With ``--init-from``, the VAE's share of the time refines the earlier VAE's decoder with its encoder
    frozen: the latents the UNet was trained on stay exactly what they were, and what they decode to gets
    closer to the drawing. Why: the first VAE was trained on the five plain backgrounds; on the coloured
    ones its round trip alone got 61–62 of 64 random scenes' background, shape colour and shape right, a
    ceiling under the demo model's targets. Whole scenes, so the middle block's attention sees the real
    proportions of background and shape; the rate falls to a tenth along a cosine over the stage."""
    stage = Stage("vae", settings, SHARES["vae"] * settings.minutes * 60)
    vae = arch.build_vae().to(settings.device)
    vae.load_state_dict(start.vae)
    decoder = [*vae.post_quant_conv.parameters(), *vae.decoder.parameters()]
    optimizer = torch.optim.AdamW(decoder, lr=3e-4, weight_decay=0.0)
    stage.restore(vae, optimizer)
    if stage.elapsed >= stage.budget_s:
        return vae.eval().requires_grad_(False)
    vae.encoder.requires_grad_(False)
    vae.quant_conv.requires_grad_(False)

    def step(index: int) -> float:
        rng = random.Random(settings.seed * 1_000_003 + index)
        pixels = to_tensor([render(random_scene(rng)) for _ in range(8)]).to(settings.device)
        with torch.no_grad():
            latents = vae.encode(pixels).latent_dist.mode()
        reconstruction = vae.decode(latents).sample
        loss = F.l1_loss(reconstruction, pixels) + 0.5 * F.mse_loss(reconstruction, pixels)
        for group in optimizer.param_groups:
            group["lr"] = 3e-4 * to_a_tenth(stage.elapsed / stage.budget_s)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.item()

    stage.run(step, lambda: {"model": vae.state_dict(), "optimizer": optimizer.state_dict()})
    return vae.eval().requires_grad_(False)
