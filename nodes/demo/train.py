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
empty prompts for classifier-free guidance, and an EMA of the weights for the exported model.

Why v and not ε: the prompt's position decides where a shape goes only in the first sampling steps, from
near-pure noise, where an ε-model's picture is its input minus 15× its output, so a tiny ε error is a large
picture error; the ε-trained model ignored every position word (the first model, 13,000 steps: position
11% on the evaluation set, chance; its x₀ guess at t = 999 the same for "top left" and "bottom right").
A v-model predicts the picture itself there. Stable Diffusion 2's 768-v model was made the same way: an
ε-model fine-tuned on the v objective.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from . import architecture as arch
from .scenes import Scene, prompt_for, random_scene, render

log = logging.getLogger(__name__)
SAVE_EVERY_S = 120.0
SHARES = {"vae": 0.15, "unet": 0.78, "upscaler": 0.07}  # of the total minutes; the bank takes what it takes


@dataclass
class Settings:
    work: Path
    output: Path
    minutes: float = 85.0
    device: str = "cpu"
    seed: int = 0
    bank_size: int = 20000
    init_from: Path | None = None  # a models folder whose demo model the stages start from (see Start)
    report: Callable[[str], None] = field(default=print)


def to_tensor(images: list[Any]) -> torch.Tensor:
    """PIL images → [N, 3, H, W] in −1…1."""
    import numpy as np

    array = np.stack([np.asarray(image, dtype=np.uint8) for image in images])
    return torch.from_numpy(array).permute(0, 3, 1, 2).float() / 127.5 - 1.0


class Stage:
    """Time-boxed training with periodic, atomic checkpoints of everything needed to resume."""

    def __init__(self, name: str, settings: Settings, budget_s: float) -> None:
        self.name, self.settings, self.budget_s = name, settings, budget_s
        self.path = settings.work / f"{name}.pt"
        self.state: dict[str, Any] = torch.load(self.path, weights_only=False) if self.path.exists() else {}
        self.step: int = self.state.get("step", 0)
        self.elapsed: float = self.state.get("elapsed", 0.0)

    def restore(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> None:
        """Continue from the saved checkpoint, if there is one."""
        if self.state:
            model.load_state_dict(self.state["model"])
            optimizer.load_state_dict(self.state["optimizer"])

    def run(self, train_step: Callable[[int], float], save: Callable[[], dict[str, Any]]) -> None:
        last_save = last_report = time.monotonic()
        started, elapsed_before = time.monotonic(), self.elapsed
        losses: list[float] = []
        while self.elapsed < self.budget_s:
            losses.append(train_step(self.step))
            self.step += 1
            now = time.monotonic()
            self.elapsed = elapsed_before + (now - started)
            if now - last_report > 30 or self.elapsed >= self.budget_s:
                self.settings.report(f"{self.name}: step {self.step}, loss {sum(losses) / len(losses):.4f}, "
                                     f"{self.elapsed / 60:.1f}/{self.budget_s / 60:.1f} min")
                losses, last_report = [], now
            if now - last_save > SAVE_EVERY_S:
                self.save(save())
                last_save = now
        self.save(save())

    def save(self, payload: dict[str, Any]) -> None:
        self.state = {**payload, "step": self.step, "elapsed": self.elapsed}
        temporary = self.path.with_suffix(".tmp")
        torch.save(self.state, temporary)
        temporary.replace(self.path)  # a kill mid-write never leaves a broken checkpoint


@dataclass
class Start:
    """Weights to start from instead of nothing: an earlier demo model (``--init-from MODELS``), read with the
    ordinary checkpoint loader. Its VAE and upscaler count as trained (their stages are skipped, and the
    latent bank keeps its latent scale, so the UNet sees the inputs it was trained on); the UNet and the text
    encoder continue training under the current code: new prompt words, scenes and loss weighting, at a
    fraction of a from-nothing run's time."""

    unet: dict[str, torch.Tensor]
    vae: dict[str, torch.Tensor]
    text_encoder: dict[str, torch.Tensor]
    upscaler: dict[str, torch.Tensor]
    scaling_factor: float

    @staticmethod
    def files(models: Path) -> tuple[Path, Path]:
        """The demo checkpoint and its upscaler in a models folder."""
        return models / "checkpoints" / arch.CHECKPOINT_NAME, models / "upscale_models" / arch.UPSCALER_NAME

    @classmethod
    def missing(cls, models: Path) -> list[Path]:
        return [path for path in cls.files(models) if not path.is_file()]

    @classmethod
    def read(cls, models: Path) -> Start:
        import tempfile

        from safetensors.torch import load_file

        from inkgraph.nodes.diffusion.checkpoint import load_single_file

        if missing := cls.missing(models):
            raise FileNotFoundError(f"train-demo --init-from: {', '.join(map(str, missing))} not found")
        checkpoint, upscaler = cls.files(models)
        with tempfile.TemporaryDirectory() as cache:
            parts = load_single_file(checkpoint, torch.float32, Path(cache))
        return cls({k: v.detach().clone() for k, v in parts.unet.state_dict().items()},
                   {k: v.detach().clone() for k, v in parts.vae.state_dict().items()},
                   {k: v.detach().clone() for k, v in parts.text_encoders[0].state_dict().items()},
                   {k: v.float() for k, v in load_file(str(upscaler)).items()},
                   float(parts.vae.config.scaling_factor))


class Ema:
    """Exponential moving average of a model's weights (warm-up: 1 − 1/(step/10 + 1), capped at 0.999)."""

    def __init__(self, model: torch.nn.Module, state: dict[str, torch.Tensor] | None = None) -> None:
        self.shadow = {k: v.detach().clone() for k, v in (state or model.state_dict()).items()}

    @torch.no_grad()
    def update(self, model: torch.nn.Module, step: int) -> None:
        decay = min(0.999, 1 - 1 / (step / 10 + 1))
        for key, value in model.state_dict().items():
            if value.dtype.is_floating_point:
                self.shadow[key].mul_(decay).add_(value.detach(), alpha=1 - decay)
            else:
                self.shadow[key].copy_(value)


# -- stage 1: the autoencoder ------------------------------------------------------------------------------

def train_vae(settings: Settings, start: Start | None = None) -> Any:
    stage = Stage("vae", settings, SHARES["vae"] * settings.minutes * 60)
    vae = arch.build_vae().to(settings.device)
    optimizer = torch.optim.AdamW(vae.parameters(), lr=1e-3, weight_decay=0.0)
    if start is not None and not stage.state:
        vae.load_state_dict(start.vae)
        stage.save({"model": vae.state_dict(), "optimizer": optimizer.state_dict(), "done": True})
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


# -- stage 2: the latent bank ---------------------------------------------------------------------------------

def build_bank(settings: Settings, vae: Any) -> dict[str, Any]:
    """Encoded scenes (the latent mode, as VAEEncode gives) and the scale that gives them unit spread."""
    path = settings.work / "bank.pt"
    if path.exists():
        bank: dict[str, Any] = torch.load(path, weights_only=False)
        return bank
    rng = random.Random(settings.seed + 7)
    scenes = [random_scene(rng) for _ in range(settings.bank_size)]
    latents = []
    started = time.monotonic()
    with torch.inference_mode():
        for begin in range(0, len(scenes), 32):
            pixels = to_tensor([render(scene) for scene in scenes[begin:begin + 32]]).to(settings.device)
            latents.append(vae.encode(pixels).latent_dist.mode().cpu())
            if begin % 1024 == 0:
                settings.report(f"bank: {begin}/{len(scenes)} scenes encoded, {time.monotonic() - started:.0f} s")
    stacked = torch.cat(latents)
    bank = {"latents": stacked.half(), "scenes": scenes, "scaling_factor": float(1 / stacked.std())}
    torch.save(bank, path)
    settings.report(f"bank: {len(scenes)} scenes, latent std {float(stacked.std()):.3f}")
    return bank


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
    tail = min(max((progress - 0.7) / 0.3, 0.0), 1.0)
    return 5e-4 * warm * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * tail)))


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


def train_unet(settings: Settings, bank: dict[str, Any], start: Start | None = None) -> tuple[Any, Any, set[int]]:
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
        picks = [rng.randrange(len(scenes)) for _ in range(batch)]
        texts = ["" if rng.random() < 0.1 else prompt_for(scenes[i], rng) for i in picks]
        x0 = latents[picks].float().to(settings.device) * scale
        ids = torch.tensor([prompts.ids(text) for text in texts], device=settings.device)
        t = sample_timesteps(batch, generator, len(alphas)).to(settings.device)
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
    if start is not None:  # the same VAE as the upscaler was trained on: nothing to learn
        model.load_state_dict(start.upscaler)
        return model.eval()
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
    unet, encoder, used = train_unet(settings, bank, start)
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
