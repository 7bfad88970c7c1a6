"""What every stage of ``inkgraph train-demo`` shares: its settings, the time-boxed, resumable stage, the
earlier model a run may start from, and the EMA of weights."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from . import architecture as arch

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


def to_a_tenth(fraction: float) -> float:
    """A learning-rate factor falling from 1 to 0.1 along a half cosine as ``fraction`` goes from 0 to 1."""
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(max(fraction, 0.0), 1.0)))


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
    ordinary checkpoint loader. Its VAE's encoder is kept as it is (and the latent bank keeps its latent
    scale), so the UNet sees the inputs it was trained on; the decoder is refined (:func:`refine_decoder`),
    and the UNet, the text encoder and the upscaler continue training under the current code: new prompt
    words, scenes and loss weighting, at a fraction of a from-nothing run's time."""

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
