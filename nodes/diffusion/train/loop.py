"""The training loop of TrainLoraNode: ComfyUI's TrainSampler objective on our model layer.

Each micro-step draws a batch from one bucket of equally shaped samples (chosen in proportion to its size),
a σ per sample (``model_sampling.percent_to_sigma`` of a uniform draw, so every family samples σ the way it
is sampled), noise, and trains the denoised prediction D(x₀ + σ·ε, σ) towards x₀ with the chosen loss, as
ComfyUI does; each latent is paired with its own caption's conditioning. Gradients accumulate over
``grad_accumulation_steps`` micro-steps per optimizer step. Every random draw comes from one generator
seeded with the node's seed, so a run is reproducible.

Memory: bf16 autocast (``training_dtype`` bf16), non-reentrant gradient checkpointing of the blocks at
``checkpoint_depth`` below the network (1: its top-level blocks), and on CUDA the 8-bit variants of the
optimizers when bitsandbytes is installed. ``training_dtype`` "none" keeps the model's dtype, with a
gradient scaler for fp16 models.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
import torch.nn.functional as F  # noqa: N812

from . import adapters
from .names import kohya_state, places

log = logging.getLogger(__name__)

OPTIMIZERS = ("AdamW", "Adam", "SGD", "RMSprop")
LOSSES = ("MSE", "L1", "Huber", "SmoothL1")
CHECKPOINT_EVERY_S = 60.0  # a running training writes its LoRA so far at most this often
_LOSS_FUNCTIONS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "MSE": F.mse_loss, "L1": F.l1_loss, "Huber": F.huber_loss, "SmoothL1": F.smooth_l1_loss}
_DTYPES = {"bf16": torch.bfloat16, "fp32": torch.float32, "fp16": torch.float16}


@dataclass(frozen=True)
class TrainOptions:
    """TrainLoraNode's settings (ComfyUI's names and defaults)."""

    batch_size: int = 1
    steps: int = 16
    grad_accumulation_steps: int = 1
    learning_rate: float = 0.0005
    rank: int = 8
    optimizer: str = "AdamW"
    loss_function: str = "MSE"
    seed: int = 0
    training_dtype: str = "bf16"
    lora_dtype: str = "bf16"
    algorithm: str = "LoRA"
    gradient_checkpointing: bool = True
    checkpoint_depth: int = 1


@dataclass
class Sample:
    """One training image: its latent as VAEEncode gives it ([1, C, h, w]) and its caption's conditioning."""

    latent: torch.Tensor
    conditioning: list[list[Any]]


@dataclass
class Result:
    lora: dict[str, torch.Tensor]  # kohya keys
    losses: list[float] = field(default_factory=list)
    steps: int = 0  # optimizer steps taken


class Hooks(Protocol):
    """The node's side of a run: progress (which may raise ``Interrupted``) and LoRA checkpoints."""

    def progress(self, done: int, total: int, loss: float) -> None: ...

    def checkpoint(self, lora: Callable[[], dict[str, torch.Tensor]], steps: int, final: bool) -> None: ...


def modules_at_depth(root: torch.nn.Module, depth: int) -> list[torch.nn.Module]:
    """The modules ``depth`` levels below ``root`` (containers — ModuleList, Sequential, ModuleDict — do not
    count as a level): depth 1 is the network's top-level blocks, 2 their children …"""
    found: list[torch.nn.Module] = []
    containers = (torch.nn.ModuleList, torch.nn.Sequential, torch.nn.ModuleDict)

    def visit(module: torch.nn.Module, level: int) -> None:
        for child in module.children():
            if isinstance(child, containers):
                visit(child, level)
            elif level + 1 >= depth:
                found.append(child)
            else:
                visit(child, level + 1)

    visit(root, 0)
    return found


@contextmanager
def checkpointed(root: torch.nn.Module, depth: int) -> Iterator[int]:
    """Gradient checkpointing of the blocks at ``depth``: their activations are recomputed in the backward
    pass instead of kept (non-reentrant, so any arguments and outputs work). Yields how many blocks."""
    from torch.utils.checkpoint import checkpoint

    patched = []
    for module in modules_at_depth(root, depth):
        if not any(True for _ in module.parameters()):
            continue  # nothing to save there
        original = module.forward

        def wrapped(*args: Any, __forward: Any = original, **kwargs: Any) -> Any:
            return checkpoint(__forward, *args, use_reentrant=False, **kwargs)

        module.forward = wrapped  # type: ignore[method-assign]
        patched.append(module)
    try:
        yield len(patched)
    finally:
        for module in patched:
            del module.forward


def make_optimizer(name: str, params: list[torch.nn.Parameter], lr: float, device: torch.device
                   ) -> torch.optim.Optimizer:
    """torch's optimizer by ComfyUI's name (its defaults besides the learning rate); on CUDA with
    bitsandbytes installed, the 8-bit variant of Adam, AdamW and RMSprop (a quarter of the state memory)."""
    if name not in OPTIMIZERS:
        raise ValueError(f"TrainLoraNode: optimizer {name!r} is not one of {', '.join(OPTIMIZERS)}")
    if device.type == "cuda" and name != "SGD":
        try:
            import bitsandbytes as bnb  # type: ignore[import-not-found]
        except ImportError:
            bnb = None
        if bnb is not None:
            log.info("TrainLoraNode: 8-bit %s (bitsandbytes)", name)
            eight_bit: type[torch.optim.Optimizer] = getattr(bnb.optim, f"{name}8bit")
            return eight_bit(params, lr=lr)
    optimizer: torch.optim.Optimizer = getattr(torch.optim, name)(params, lr=lr)
    return optimizer


def _autocast(device: torch.device, dtype: torch.dtype | None) -> Any:
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else nullcontext()


def _buckets(samples: list[Sample], cond_shapes: list[tuple[Any, ...]]) -> list[list[int]]:
    """Sample indices grouped by latent shape and conditioning shapes (a batch must stack)."""
    groups: dict[tuple[Any, ...], list[int]] = {}
    for index, sample in enumerate(samples):
        groups.setdefault((tuple(sample.latent.shape), cond_shapes[index]), []).append(index)
    return list(groups.values())


def train(model: Any, samples: list[Sample], options: TrainOptions, hooks: Hooks, existing: Any = None
          ) -> Result:
    """Train a LoRA on ``model`` (a MODEL handle) from ``samples``; ``existing`` (a parsed ``lora.LoraFile``)
    is continued. The handle's weights are left exactly as they were."""
    from ..conds import EncodeContext, prepare
    from ..families import by_name
    from ..families.base import ATTENTION_TARGETS
    from ..guidance import ModelRunner
    from ..lora import module_index
    from ..model_api import adapter_of, latent_format_of, model_sampling_of, preview_kind
    from ..patches.options import model_options_of

    if not samples:
        raise ValueError("TrainLoraNode: no training samples (latents) were given")
    if options.loss_function not in _LOSS_FUNCTIONS:
        raise ValueError(f"TrainLoraNode: loss_function {options.loss_function!r} is not one of {', '.join(LOSSES)}")
    loss_fn = _LOSS_FUNCTIONS[options.loss_function]
    model_sampling, adapter, latent_format = model_sampling_of(model), adapter_of(model), latent_format_of(model)
    detected = model.family.detected
    try:
        owner = detected.family if detected is not None else by_name(model.family.kind)
    except KeyError:
        owner = None
    generator = torch.Generator().manual_seed(int(options.seed) % (1 << 64))
    lora_dtype = _DTYPES[options.lora_dtype]
    with model.use() as loaded, torch.inference_mode(False), torch.enable_grad():
        network: torch.nn.Module = getattr(loaded, "_orig_mod", loaded)  # never the torch.compile wrapper
        targets = owner.train_targets(detected, network) if owner is not None else ATTENTION_TARGETS
        names = owner.lora_names(detected, network) if owner is not None and detected is not None else None
        index = module_index(network, network.config if names is None and hasattr(network, "config") else None,
                             names)
        found = adapters.existing_factors(existing, index) if existing is not None else {}
        config = adapters.make_config(options.algorithm, options.rank, targets, found)
        runner = ModelRunner(network, adapter, model_sampling, model_options_of(model).as_dict(), preview_kind(model))
        device = runner.device
        autocast_dtype = {"bf16": torch.bfloat16, "fp32": None}.get(options.training_dtype, None)
        scaler = None
        if options.training_dtype == "none" and runner.dtype == torch.float16:
            autocast_dtype, scaler = torch.float16, torch.amp.GradScaler(device.type)
        elif options.training_dtype == "none" and runner.dtype == torch.bfloat16:
            autocast_dtype = torch.bfloat16
        conds = _encode(samples, adapter, network, model_sampling, device, runner.dtype, prepare, EncodeContext)
        buckets = _buckets(samples, [tuple((k, tuple(v.shape)) for k, v in sorted(c.items())) for c in conds])
        with adapters.attached(network, config, lora_dtype, generator, found) as params:
            where = places(network, detected, names, [name for name, _ in adapters.adapter_layers(network)])

            def export() -> dict[str, torch.Tensor]:
                return kohya_state(network, adapters.factors(network), where, lora_dtype)

            optimizer = make_optimizer(options.optimizer, params, options.learning_rate, device)
            depth = max(1, int(options.checkpoint_depth))
            memory = checkpointed(network, depth) if options.gradient_checkpointing else nullcontext(0)
            result = Result(lora={})
            with memory as blocks:
                if blocks:
                    log.info("TrainLoraNode: gradient checkpointing of %d blocks at depth %d", blocks, depth)
                _run(options, samples, conds, buckets, runner, latent_format, loss_fn, optimizer, scaler,
                     autocast_dtype, generator, hooks, export, result)
            result.lora = export()
    return result


def _encode(samples: list[Sample], adapter: Any, network: Any, model_sampling: Any, device: torch.device,
            dtype: torch.dtype, prepare: Any, encode_context: Any) -> list[dict[str, torch.Tensor]]:
    """Each sample's conditioning as the network's tensors (batch 1), encoded once, as ordinary tensors."""
    out = []
    for sample in samples:
        if len(sample.conditioning) > 1:
            log.info("TrainLoraNode: a caption's conditioning has %d entries; the first is trained",
                     len(sample.conditioning))
        ctx = encode_context("positive", tuple(sample.latent.shape), device, dtype)
        with torch.no_grad():
            (entry, *_) = prepare(sample.conditioning[:1], adapter, network, model_sampling, ctx)
        out.append({k: v.detach().clone() for k, v in entry.tensors.items()})
    return out


def _run(options: TrainOptions, samples: list[Sample], conds: list[dict[str, torch.Tensor]],
         buckets: list[list[int]], runner: Any, latent_format: Any, loss_fn: Any, optimizer: torch.optim.Optimizer,
         scaler: Any, autocast_dtype: torch.dtype | None, generator: torch.Generator, hooks: Hooks,
         export: Callable[[], dict[str, torch.Tensor]], result: Result) -> None:
    """The optimizer steps; a checkpoint of the LoRA every CHECKPOINT_EVERY_S and when interrupted."""
    from inkgraph.engine.core.context import Interrupted

    device = runner.device
    model_sampling = runner.model_sampling
    latents = [latent_format.process_in(s.latent.float()) for s in samples]
    weights = torch.tensor([float(len(b)) for b in buckets])
    accumulate = max(1, int(options.grad_accumulation_steps))
    total = int(options.steps) * accumulate
    last_save = time.monotonic()
    optimizer.zero_grad(set_to_none=True)
    try:
        for micro in range(total):
            bucket = buckets[0]
            if len(buckets) > 1:
                bucket = buckets[int(torch.multinomial(weights, 1, generator=generator))]
            picks = [bucket[int(i)] for i in torch.randperm(len(bucket), generator=generator)[:options.batch_size]]
            x0 = torch.cat([latents[i] for i in picks]).to(device)
            noise = torch.randn(x0.shape, generator=generator).to(device)
            percents = torch.rand(len(picks), generator=generator).clamp(min=1e-6)
            sigmas = torch.tensor([model_sampling.percent_to_sigma(float(p)) for p in percents],
                                  dtype=torch.float32).to(device)
            x_t = model_sampling.noise_scaling(sigmas, noise, x0)
            batch = {k: torch.cat([conds[i][k] for i in picks]) for k in conds[picks[0]]}
            with _autocast(device, autocast_dtype):
                denoised = runner.apply_model(x_t, sigmas, **batch)
                loss = loss_fn(denoised.float(), x0.float())
            scaled = loss / accumulate
            (scaler.scale(scaled) if scaler is not None else scaled).backward()
            result.losses.append(float(loss.item()))
            if (micro + 1) % accumulate == 0:
                if scaler is not None:
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                result.steps += 1
                if time.monotonic() - last_save >= CHECKPOINT_EVERY_S:
                    hooks.checkpoint(export, result.steps, False)
                    last_save = time.monotonic()
            hooks.progress(micro + 1, total, result.losses[-1])
    except Interrupted:
        hooks.checkpoint(export, result.steps, True)
        raise
