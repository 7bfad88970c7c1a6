"""Training the demo model from nothing, in four resumable stages: VAE → latent bank → UNet + text encoder →
4× upscaler, then writing the two model files.

Each stage trains for its share of ``--minutes`` (time, not steps, so the same command fits any machine)
and saves a checkpoint every two minutes in the work folder; running the command again resumes where it
stopped. A finished VAE and latent bank are kept; the UNet and the upscaler continue when given more
minutes, so training can run in the background across sessions. Seeded: scenes come from
``random.Random(seed + step)``, noise from torch generators seeded the same way.

Data is drawn on the fly (:mod:`scenes`). The diffusion objective is Stable Diffusion 2's: v-prediction
on the scaled-linear 1,000-step schedule the samplers use (the checkpoint says so in its metadata, and
CheckpointLoaderSimple samples it as v), with the x₀ error weighted by the SNR clamped to [1, 5]
(:func:`loss_weight`), extra timesteps from the noisy end (:func:`sample_timesteps`), offset noise, 10%
empty prompts for classifier-free guidance, an EMA of the weights for the exported model, and the position
drill (:mod:`curriculum`): batches in which only the position changes first, then a quarter of every batch.

Why v and not ε: the prompt's position decides where a shape goes only in the first sampling steps, from
near-pure noise, where an ε-model's picture is its input minus 15× its output, so a tiny ε error is a large
picture error; the ε-trained model ignored every position word (the first model, 13,000 steps: position
11% on the evaluation set, chance; its x₀ guess at t = 999 the same for "top left" and "bottom right").
A v-model predicts the picture itself there. Stable Diffusion 2's 768-v model was made the same way: an
ε-model fine-tuned on the v objective. The v objective alone did not teach position either (4,711 steps:
12%); the drill did (:mod:`curriculum` says why).
"""

from __future__ import annotations

import json
import math
import random
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from . import architecture as arch
from . import curriculum
from .scenes import Scene, prompt_for, random_scene, render
from .stages import SHARES, Ema, Settings, Stage, Start, to_a_tenth, to_tensor
from .train_vae import train_vae

# (stage 1, the autoencoder: :mod:`train_vae`)

# -- stage 2: the latent bank ---------------------------------------------------------------------------------

def encode_scenes(settings: Settings, vae: Any, scenes: list[Scene], label: str) -> torch.Tensor:
    """The latent mode (as VAEEncode gives) of each scene, in batches of 32."""
    latents = []
    started = time.monotonic()
    with torch.inference_mode():
        for begin in range(0, len(scenes), 32):
            pixels = to_tensor([render(scene) for scene in scenes[begin:begin + 32]]).to(settings.device)
            latents.append(vae.encode(pixels).latent_dist.mode().cpu())
            if begin % 1024 == 0:
                settings.report(f"{label}: {begin}/{len(scenes)} scenes encoded, {time.monotonic() - started:.0f} s")
    return torch.cat(latents)


def build_bank(settings: Settings, vae: Any) -> dict[str, Any]:
    """Encoded scenes and the scale that gives them unit spread."""
    path = settings.work / "bank.pt"
    if path.exists():
        bank: dict[str, Any] = torch.load(path, weights_only=False)
        return bank
    rng = random.Random(settings.seed + 7)
    scenes = [random_scene(rng) for _ in range(settings.bank_size)]
    stacked = encode_scenes(settings, vae, scenes, "bank")
    bank = {"latents": stacked.half(), "scenes": scenes, "scaling_factor": float(1 / stacked.std())}
    torch.save(bank, path)
    settings.report(f"bank: {len(scenes)} scenes, latent std {float(stacked.std()):.3f}")
    return bank


def build_drill(settings: Settings, vae: Any) -> dict[str, Any]:
    """The position drill's scenes (:mod:`curriculum`), grouped by kind: up to KINDS kinds, fewer for a small
    bank (the tests' tiny runs), encoded once and kept in the work folder like the bank."""
    path = settings.work / "drill.pt"
    if path.exists():
        drill: dict[str, Any] = torch.load(path, weights_only=False)
        return drill
    kinds = min(curriculum.KINDS, max(1, settings.bank_size // 160))
    scenes = curriculum.drill_scenes(settings.seed + 11, kinds)
    drill = {"latents": encode_scenes(settings, vae, scenes, "drill").half(), "scenes": scenes, "kinds": kinds}
    torch.save(drill, path)
    return drill


# -- stage 3: the diffusion model and its text encoder --------------------------------------------------------

def _alphas_cumprod() -> torch.Tensor:
    c = arch.SCHEDULER_CONFIG
    betas = torch.linspace(c["beta_start"] ** 0.5, c["beta_end"] ** 0.5, c["num_train_timesteps"],
                           dtype=torch.float64) ** 2
    return torch.cumprod(1 - betas, 0).float()


class Prompts:
    """Token ids for prompts (the shipped CLIP tokenizer, exactly as CLIPTextEncode tokenizes), and every id
    seen, so the export can drop the embedding rows nobody trained."""

    def __init__(self) -> None:
        self.cache: dict[str, list[int]] = {}
        self.used: set[int] = set()

    def ids(self, prompt: str) -> list[int]:
        if prompt not in self.cache:
            from inkgraph.nodes.diffusion.text import tokenize

            (chunk,) = tokenize(prompt)
            self.cache[prompt] = [int(token) for token, _ in chunk]  # type: ignore[call-overload]
            self.used.update(self.cache[prompt])
        return self.cache[prompt]


def unet_learning_rate(step: int, progress: float) -> float:
    """Warm-up over 300 steps, constant, then a cosine down to a tenth over the last 30% of the stage's time.

    The decay is what sharpens small details (the corners of a small square): at a constant rate the
    weights keep moving by about the size of those details, and even the EMA averages them soft. Tied to
    the fraction of the time box, so a longer run (or a resumed one given more minutes) decays at its end.
    """
    warm = min(1.0, (step + 1) / 300)
    return 5e-4 * warm * to_a_tenth((progress - 0.7) / 0.3)


def loss_weight(snr: torch.Tensor) -> torch.Tensor:
    """Per-sample weight of the v-prediction loss: the x₀ error weighted by the signal-to-noise ratio clamped
    to [1, 5] (v error² = x₀ error² × (1 + SNR), so the weight on the v loss is that over 1 + SNR).

    The upper clamp is min-SNR-5: nearly clean samples would otherwise dominate. The lower one matters for
    position: where a shape goes is decided in the first sampling steps, from pure noise, and there a loss
    that scales x₀ errors by the SNR (ε-prediction's, 0.005 at t = 999) gives a shape drawn in the wrong
    place almost no weight.
    """
    return snr.clamp(min=1.0, max=5.0) / (snr + 1)


HIGH_NOISE_SHARE, HIGH_NOISE_FROM = 0.3, 700


def sample_timesteps(batch: int, generator: torch.Generator, count: int = 1000) -> torch.Tensor:
    """Training timesteps: 70% uniform over the schedule, 30% from its noisiest 30% (t ≥ 700).

    Where the shape goes is all the sampler's first steps decide, from near-pure noise, where the only clue
    is the prompt; uniform timesteps give those steps a few in ten samples, and there the loss for a shape
    in the wrong place is a small part of the whole, so the model never learnt the position words (0 of 9
    positions better than chance after 13,000 steps). The extra noisy samples make it learn them."""
    uniform = torch.randint(0, count, (batch,), generator=generator)
    noisy = torch.randint(HIGH_NOISE_FROM, count, (batch,), generator=generator)
    return torch.where(torch.rand(batch, generator=generator) < HIGH_NOISE_SHARE, noisy, uniform)


def train_unet(settings: Settings, bank: dict[str, Any], drill: dict[str, Any],
               start: Start | None = None) -> tuple[Any, Any, set[int]]:
    stage = Stage("unet", settings, SHARES["unet"] * settings.minutes * 60)
    unet, encoder = arch.build_unet().to(settings.device), arch.build_text_encoder().to(settings.device)
    parameters = list(unet.parameters()) + list(encoder.parameters())
    optimizer = torch.optim.AdamW(parameters, lr=5e-4, weight_decay=0.0)
    prompts = Prompts()
    if stage.state:
        unet.load_state_dict(stage.state["unet"])
        encoder.load_state_dict(stage.state["encoder"])
        optimizer.load_state_dict(stage.state["optimizer"])
        prompts.used = set(stage.state["used_tokens"])
    elif start is not None:
        unet.load_state_dict(start.unet)
        encoder.load_state_dict(start.text_encoder)
    ema_unet = Ema(unet, stage.state.get("ema_unet"))
    ema_encoder = Ema(encoder, stage.state.get("ema_encoder"))
    alphas = _alphas_cumprod().to(settings.device)
    latents, scenes, scale = bank["latents"], bank["scenes"], bank["scaling_factor"]
    batch = 32

    def step(index: int) -> float:
        rng = random.Random(settings.seed * 1_000_003 + index)
        generator = torch.Generator().manual_seed(settings.seed * 1_000_003 + index)
        plan = curriculum.plan(index, batch, drill["kinds"])
        picks = [rng.randrange(len(scenes)) for _ in range(batch - plan.samples)]
        texts = ["" if rng.random() < 0.1 else prompt_for(scenes[i], rng) for i in picks]
        drilled = [curriculum.pick(rng, drill["scenes"], plan) for _ in range(plan.samples)]
        texts += [curriculum.prompt(drill["scenes"][i], rng, plan.solo) for i in drilled]
        x0 = torch.cat([latents[picks], drill["latents"][drilled]]).float().to(settings.device) * scale
        ids = torch.tensor([prompts.ids(text) for text in texts], device=settings.device)
        t = torch.cat([sample_timesteps(len(picks), generator, len(alphas)),
                       torch.randint(curriculum.DRILL_FROM, len(alphas), (plan.samples,), generator=generator)])
        t = t.to(settings.device)
        noise = torch.randn(x0.shape, generator=generator)
        # Offset noise: a per-channel constant in the noise, so the model learns to set a region's mean
        # colour (plain noise leaves the mean of x_T nearly untouched, and backgrounds come out grey).
        noise = (noise + 0.1 * torch.randn(batch, x0.shape[1], 1, 1, generator=generator)).to(settings.device)
        a = alphas[t].view(-1, 1, 1, 1)
        noisy = a.sqrt() * x0 + (1 - a).sqrt() * noise
        for group in optimizer.param_groups:
            group["lr"] = unet_learning_rate(index, stage.elapsed / stage.budget_s)
        context = encoder(input_ids=ids).last_hidden_state
        prediction = unet(noisy, t, encoder_hidden_states=context).sample
        target = a.sqrt() * noise - (1 - a).sqrt() * x0  # v-prediction
        weight = loss_weight(alphas[t] / (1 - alphas[t]))
        loss = (weight * ((prediction - target) ** 2).mean(dim=(1, 2, 3))).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
        ema_unet.update(unet, index)
        ema_encoder.update(encoder, index)
        return loss.item()

    stage.run(step, lambda: {"unet": unet.state_dict(), "encoder": encoder.state_dict(),
                             "optimizer": optimizer.state_dict(), "ema_unet": ema_unet.shadow,
                             "ema_encoder": ema_encoder.shadow, "used_tokens": sorted(prompts.used)})
    unet.load_state_dict(ema_unet.shadow)
    encoder.load_state_dict(ema_encoder.shadow)
    return unet.eval(), encoder.eval(), prompts.used


# -- stage 4: the upscaler --------------------------------------------------------------------------------------

def train_upscaler(settings: Settings, vae: Any, bank: dict[str, Any], start: Start | None = None) -> torch.nn.Module:
    """4× from what the VAE decodes (soft edges, small colour errors) to a clean 512×512 drawing."""
    stage = Stage("upscaler", settings, SHARES["upscaler"] * settings.minutes * 60)
    model = arch.build_upscaler().to(settings.device)
    if start is not None:  # continues from the earlier upscaler, on what the refined decoder draws
        model.load_state_dict(start.upscaler)
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=0.0)
    stage.restore(model, optimizer)
    if stage.elapsed >= stage.budget_s:
        return model.eval()
    pool_size = min(192, len(bank["scenes"]))
    scenes: list[Scene] = bank["scenes"][:pool_size]
    with torch.inference_mode():
        low = torch.cat([vae.decode(bank["latents"][i:i + 32].float().to(settings.device)).sample.clamp(-1, 1).cpu()
                         for i in range(0, pool_size, 32)])
    high = to_tensor([render(scene, 512, supersample=2) for scene in scenes])
    low, high = low.clone(), high.clone()

    def step(index: int) -> float:
        rng = random.Random(settings.seed * 1_000_003 + index)
        lows, highs = [], []
        for _ in range(16):
            i, x, y = rng.randrange(pool_size), rng.randrange(0, 97), rng.randrange(0, 97)
            lows.append(low[i, :, y:y + 32, x:x + 32])
            highs.append(high[i, :, 4 * y:4 * y + 128, 4 * x:4 * x + 128])
        source = (torch.stack(lows).to(settings.device) + 1) / 2  # spandrel models work in 0…1
        target = (torch.stack(highs).to(settings.device) + 1) / 2
        loss = F.l1_loss(model(source), target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.item()

    stage.run(step, lambda: {"model": model.state_dict(), "optimizer": optimizer.state_dict()})
    return model.eval()


# -- all of it ------------------------------------------------------------------------------------------------

def train(settings: Settings) -> tuple[Path, Path]:
    """Runs (or resumes) every stage and writes the checkpoint and the upscaler into ``settings.output``."""
    settings.work.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(settings.seed)
    started = time.monotonic()
    start = Start.read(settings.init_from) if settings.init_from is not None else None
    vae = train_vae(settings, start)
    bank = build_bank(settings, vae)
    if start is not None:
        bank = {**bank, "scaling_factor": start.scaling_factor}
    unet, encoder, used = train_unet(settings, bank, build_drill(settings, vae), start)
    upscaler = train_upscaler(settings, vae, bank, start)
    vae.register_to_config(scaling_factor=bank["scaling_factor"])
    checkpoint = settings.output / "checkpoints" / arch.CHECKPOINT_NAME
    upscaler_path = settings.output / "upscale_models" / arch.UPSCALER_NAME
    steps = {name: Stage(name, settings, 0).step for name in SHARES}
    origin = "from scratch" if start is None else "on from the previous demo model (--init-from)"
    description = (f"Inkgraph's demo model: shapes on plain backgrounds from templated prompts. Trained {origin} "
                   f"with `inkgraph train-demo` (seed {settings.seed}; steps {json.dumps(steps)}).")
    arch.write_checkpoint(checkpoint, unet.cpu(), vae.cpu(), encoder.cpu(), used, description)
    arch.write_upscaler(upscaler_path, upscaler.cpu())
    settings.report(f"wrote {checkpoint} and {upscaler_path} ({math.ceil(time.monotonic() - started)} s this run)")
    return checkpoint, upscaler_path
