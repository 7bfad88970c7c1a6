"""Training in the graph (ComfyUI's ``training`` nodes): TrainLoraNode, LoraModelLoader, SaveLoRA and
LossGraphNode, with ComfyUI's names, inputs, defaults and outputs (its ``comfy_extras/nodes_train.py``).

TrainLoraNode trains a LoRA with peft on the MODEL's network (``diffusion.train``) and outputs it as a
LORA_MODEL: a state dict in kohya's key layout, the same tensors SaveLoRA writes, so LoraModelLoader in the
graph and LoraLoader on the saved file patch the model identically. It runs through the executor like any
node: progress per step on the websocket and the CLI bar, its result cached (a changed downstream widget
does not retrain), interruptible. While it trains, the LoRA so far is written to
``output/loras/training/`` every minute and when the run is interrupted (an interrupted run keeps that
file; a finished one removes it), named ``…_<steps>_steps_…`` so existing_lora can continue it.

Algorithms: LoRA, LoHa and LoKr (LyCORIS' keys for the latter two); OFT is refused with a message, since
peft's OFT is not the parametrisation ComfyUI's OFT files hold.

Differences from ComfyUI, on purpose: each latent is trained with its own caption (ComfyUI's batches of
several captions average every caption's prediction over every latent); adapters go on the modules the
model family names (``DiffusionFamily.train_targets``: attention and MLP layers), not on every layer and
bias; adapters never modify the base weights, so ``bypass_mode`` changes nothing, and ``offloading`` and
``quantized_backward`` are accepted and have no effect (fp8 weights are dequantized in each forward, so
their backward runs in the compute dtype).
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from typing import Annotated, Any

from inkgraph.engine import (
    Boolean,
    Combo,
    Context,
    Float,
    Hidden,
    Int,
    NodeOutput,
    Output,
    Socket,
    String,
    node,
)
from inkgraph.engine.core.paths import Folders, highest_counter, save_target
from inkgraph.engine.core.safe_write import install, staging_file, write_replacing

from .image_io import check_prefix

log = logging.getLogger(__name__)

NONE_LORA = "[None]"
CHECKPOINT_FOLDER = ("loras", "training")  # under output/: the LoRA of a running (or interrupted) training


def _existing_loras(folders: Folders) -> list[str]:
    return [*folders.model_files("loras"), NONE_LORA]


def _first(value: Any) -> Any:
    """A widget value of a list-input node (every input arrives as a list)."""
    return value[0] if isinstance(value, list) else value


def _steps_in_name(name: str) -> int:
    """The step count in a trained LoRA's name (``…_120_steps_…``), as ComfyUI reads it; 0 without one."""
    head = Path(name).name.split("_steps_")[0]
    digits = head.rsplit("_", 1)[-1]
    return int(digits) if "_steps_" in Path(name).name and digits.isdigit() else 0


def lora_bytes(state: dict[str, Any], steps: int | None = None) -> bytes:
    """A LoRA state dict as safetensors bytes, with kohya's metadata (network module, rank, alpha)."""
    from safetensors.torch import save

    ranks = sorted({int(v.shape[0]) for k, v in state.items() if k.endswith(".lora_down.weight")})
    alphas = sorted({float(v) for k, v in state.items() if k.endswith(".alpha")})
    lycoris = any(".hada_" in k or ".lokr_" in k for k in state)
    metadata = {"ss_network_module": "lycoris.kohya" if lycoris else "networks.lora",
                "ss_network_dim": str(ranks[0]) if len(ranks) == 1 else "",
                "ss_network_alpha": str(alphas[0]) if len(alphas) == 1 else ""}
    if steps is not None:
        metadata["ss_steps"] = str(steps)
    return save({k: v.contiguous() for k, v in state.items()}, metadata=metadata)


class _Run:
    """TrainLoraNode's hooks: progress to the context (which raises when interrupted), a line of text about
    once a second, and the LoRA so far written to ``output/loras/training/``."""

    def __init__(self, ctx: Context, existing_steps: int) -> None:
        self.ctx, self.existing_steps = ctx, existing_steps
        self.written: Path | None = None
        self.last_text = 0.0
        safe = re.sub(r"[^A-Za-z0-9]+", "", f"{ctx.node_id}") or "node"
        self.stem = f"{ctx.class_type}_{safe}"
        self.run = re.sub(r"[^A-Za-z0-9]+", "", str(ctx.prompt_id))[:8] or "run"

    def progress(self, done: int, total: int, loss: float) -> None:
        self.ctx.progress(done, total)
        now = time.monotonic()
        if now - self.last_text >= 1.0 or done == total:
            self.ctx.text(f"step {done}/{total}, loss {loss:.4f}")
            self.last_text = now

    def checkpoint(self, lora: Any, steps: int, final: bool) -> None:
        folder = self.ctx.folders.output.joinpath(*CHECKPOINT_FOLDER)
        folder.mkdir(parents=True, exist_ok=True)
        total = self.existing_steps + steps
        path = folder / f"{self.stem}_{total}_steps_{self.run}.safetensors"
        write_replacing(path, lora_bytes(lora(), total))
        if self.written is not None and self.written != path:
            self.written.unlink(missing_ok=True)
        self.written = path
        log.info("TrainLoraNode: %s LoRA after %d steps written to %s", "interrupted:" if final else "checkpoint:",
                 total, path)

    def finished(self) -> None:
        if self.written is not None:
            self.written.unlink(missing_ok=True)


def _samples(latents: list[Any], positive: list[Any]) -> list[Any]:
    """Each latent (every batch item of every list item) with its caption's conditioning entry; one entry is
    repeated for all, as ComfyUI does."""
    from .diffusion.train.loop import Sample

    flat = [item["samples"][i:i + 1] for item in latents for i in range(item["samples"].shape[0])]
    entries = [entry for conditioning in positive for entry in conditioning]
    if len(entries) == 1 and len(flat) > 1:
        entries = entries * len(flat)
    if len(entries) != len(flat):
        raise ValueError(f"TrainLoraNode: {len(entries)} conditionings (input 'positive') for {len(flat)} latents "
                         "(input 'latents'); give one per latent, or one for all")
    return [Sample(latent, [entry]) for latent, entry in zip(flat, entries, strict=True)]


LoraModel = Annotated[Any, Socket(type="LORA_MODEL")]
LossMap = Annotated[Any, Socket(type="LOSS_MAP")]


@node(display_name="Train LoRA", category="training", experimental=True, input_is_list=True)
def TrainLoraNode(
    ctx: Context,
    model: Annotated[Any, Socket(type="MODEL", tooltip="The model to train the LoRA on.")],
    latents: Annotated[Any, Socket(type="LATENT", tooltip=(
        "The Latents to use for training, serve as dataset/input of the model."))],
    positive: Annotated[Any, Socket(type="CONDITIONING", tooltip="The positive conditioning to use for training.")],
    batch_size: Annotated[int, Int(min=1, max=10000, tooltip="The batch size to use for training.")] = 1,
    grad_accumulation_steps: Annotated[int, Int(min=1, max=1024, tooltip=(
        "The number of gradient accumulation steps to use for training."))] = 1,
    steps: Annotated[int, Int(min=1, max=100000, tooltip="The number of steps to train the LoRA for.")] = 16,
    learning_rate: Annotated[float, Float(min=0.0000001, max=1.0, step=0.0000001, tooltip=(
        "The learning rate to use for training."))] = 0.0005,
    rank: Annotated[int, Int(min=1, max=128, tooltip="The rank of the LoRA layers.")] = 8,
    optimizer: Annotated[str, Combo(options=("AdamW", "Adam", "SGD", "RMSprop"), tooltip=(
        "The optimizer to use for training."))] = "AdamW",
    loss_function: Annotated[str, Combo(options=("MSE", "L1", "Huber", "SmoothL1"), tooltip=(
        "The loss function to use for training."))] = "MSE",
    seed: Annotated[int, Int(min=0, max=0xFFFFFFFFFFFFFFFF, tooltip=(
        "The seed to use for training (used in generator for LoRA weight initialization and noise sampling)"))] = 0,
    training_dtype: Annotated[str, Combo(options=("bf16", "fp32", "none"), tooltip=(
        "The dtype to use for training. 'none' preserves the model's native compute dtype instead of overriding "
        "it. For fp16 models, GradScaler is automatically enabled."))] = "bf16",
    lora_dtype: Annotated[str, Combo(options=("bf16", "fp32"), tooltip="The dtype to use for lora.")] = "bf16",
    quantized_backward: Annotated[bool, Boolean(tooltip=(
        "When using training_dtype 'none' and training on quantized model, doing backward with quantized matmul "
        "when enabled."))] = False,
    algorithm: Annotated[str, Combo(options=("LoRA", "LoHa", "LoKr", "OFT"), tooltip=(
        "The algorithm to use for training."))] = "LoRA",
    gradient_checkpointing: Annotated[bool, Boolean(tooltip="Use gradient checkpointing for training.")] = True,
    checkpoint_depth: Annotated[int, Int(min=1, max=5, tooltip="Depth level for gradient checkpointing.")] = 1,
    offloading: Annotated[bool, Boolean(tooltip=(
        "Offload model weights to CPU during training to save GPU memory."))] = False,
    existing_lora: Annotated[str, Combo(options=_existing_loras, tooltip=(
        "The existing LoRA to append to. Set to None for new LoRA."))] = NONE_LORA,
    bucket_mode: Annotated[bool, Boolean(tooltip=(
        "Enable resolution bucket mode. When enabled, expects pre-bucketed latents from ResolutionBucket node."
    ))] = False,
    bypass_mode: Annotated[bool, Boolean(tooltip=(
        "Enable bypass mode for training. When enabled, adapters are applied via forward hooks instead of weight "
        "modification. Useful for quantized models where weights cannot be directly modified."))] = False,
) -> tuple[Annotated[Any, Output("lora", type="LORA_MODEL", tooltip="LoRA weights")],
           Annotated[Any, Output("loss_map", type="LOSS_MAP", tooltip="Loss history")],
           Annotated[int, Output("steps", type="INT", tooltip="Total training steps")]]:
    """Trains a LoRA on the model from latents and their captions' conditionings (MakeTrainingDataset)."""
    from .diffusion import lora as lora_files
    from .diffusion.train.loop import TrainOptions, train

    options = TrainOptions(
        batch_size=int(_first(batch_size)), steps=int(_first(steps)),
        grad_accumulation_steps=int(_first(grad_accumulation_steps)), learning_rate=float(_first(learning_rate)),
        rank=int(_first(rank)), optimizer=str(_first(optimizer)), loss_function=str(_first(loss_function)),
        seed=int(_first(seed)), training_dtype=str(_first(training_dtype)), lora_dtype=str(_first(lora_dtype)),
        algorithm=str(_first(algorithm)), gradient_checkpointing=bool(_first(gradient_checkpointing)),
        checkpoint_depth=int(_first(checkpoint_depth)))
    if _first(offloading) or _first(quantized_backward):
        log.info("TrainLoraNode: offloading and quantized_backward have no effect here; the model manager places "
                 "the weights and fp8 weights are dequantized in each forward")
    name = str(_first(existing_lora))
    existing, existing_steps = None, 0
    if name != NONE_LORA:
        existing = lora_files.load(ctx.folders.model_path("loras", name))
        existing_steps = _steps_in_name(name)
    run = _Run(ctx, existing_steps)
    result = train(_first(model), _samples(list(latents), list(positive)), options, run, existing)
    run.finished()
    return result.lora, {"loss": result.losses}, result.steps + existing_steps


_PARSED: dict[int, tuple[Any, Any]] = {}


def trained_lora(state: dict[str, Any]) -> Any:
    """A LORA_MODEL parsed as a LoRA file (``lora.LoraFile``), once per state dict."""
    from .diffusion import lora as lora_files

    found = _PARSED.get(id(state))
    if found is None or found[0] is not state:
        if len(_PARSED) >= 16:
            _PARSED.clear()
        found = _PARSED[id(state)] = (state, lora_files.parse(state, "trained LoRA"))
    return found[1]


@node(display_name="Load LoRA Model", category="loaders", experimental=True)
def LoraModelLoader(
    model: Annotated[Any, Socket(type="MODEL", tooltip="The diffusion model the LoRA will be applied to.")],
    lora: Annotated[Any, Socket(type="LORA_MODEL", tooltip="The LoRA model to apply to the diffusion model.")],
    strength_model: Annotated[float, Float(min=-100.0, max=100.0, tooltip=(
        "How strongly to modify the diffusion model. This value can be negative."))] = 1.0,
    bypass: Annotated[bool, Boolean(tooltip=(
        "When enabled, applies LoRA in bypass mode without modifying base model weights. Useful for training and "
        "when model weights are offloaded."))] = False,
) -> Annotated[Any, Output("model", type="MODEL", tooltip="The modified diffusion model.")]:
    """Applies a LoRA_MODEL (TrainLoraNode's) to a model, exactly as LoraLoader applies the saved file. The
    base weights are always kept aside and restored, so ``bypass`` gives the same result."""
    from .diffusion.handles import Lora

    if strength_model == 0:
        return model
    parsed = trained_lora(lora)  # the handle holds it, so its id names this LoRA while the handle lives
    return model.with_lora(Lora(parsed, ("trained", id(parsed)), strength_model))


@node(display_name="Save LoRA Weights", category="loaders", experimental=True, output_node=True, outputs=[],
      validate=lambda prefix: check_prefix(prefix))
def SaveLoRA(
    ctx: Context,
    lora: Annotated[Any, Socket(type="LORA_MODEL", tooltip=(
        "The LoRA model to save. Do not use the model with LoRA layers."))],
    prefix: Annotated[str, String(tooltip="The prefix to use for the saved LoRA file.")] = "loras/ComfyUI_trained_lora",
    steps: Annotated[int | None, Int(optional=True, tooltip=(
        "Optional: The number of steps the LoRA has been trained for, used to name the saved file."))] = None,
) -> NodeOutput:
    """Writes the LoRA as ``<prefix>_<steps>_steps_<counter>_.safetensors`` in the output folder (kohya's
    keys: LoraLoader here, in ComfyUI and in kohya's tools reads it)."""
    try:
        folder, base, _ = save_target(ctx.folders.output, "output", prefix, 0, 0)
    except ValueError as exc:
        raise ValueError(f"SaveLoRA: cannot save with prefix {prefix!r}: {exc}") from exc
    counter = highest_counter(folder, base) + 1
    staged, handle = staging_file(folder)
    with handle:
        handle.write(lora_bytes(lora, steps))
    while True:
        middle = "" if steps is None else f"{steps}_steps_"
        name = f"{base}_{middle}{counter:05}_.safetensors"
        try:
            install(staged, folder / name, overwrite=False)
            break
        except FileExistsError:
            counter += 1
    log.info("SaveLoRA: wrote %s", folder / name)
    return NodeOutput()


def loss_graph(values: list[float]) -> Any:
    """The loss curve as an 840×520 PIL image: a blue line over the steps, axes, the extreme values."""
    from PIL import Image, ImageDraw, ImageFont

    width, height, margin = 800, 480, 40
    image = Image.new("RGB", (width + margin, height + margin), "white")
    draw = ImageDraw.Draw(image)
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    span = (high - low) or 1.0
    points = [(margin + int(i / max(len(values), 1) * width), height - int((v - low) / span * height))
              for i, v in enumerate(values)]
    if len(points) > 1:
        draw.line(points, fill="blue", width=2)
    elif points:
        draw.point(points, fill="blue")
    draw.line([(margin, 0), (margin, height)], fill="black", width=2)
    draw.line([(margin, height), (width + margin, height)], fill="black", width=2)
    font = ImageFont.load_default()
    draw.text((5, height // 2), "Loss", font=font, fill="black")
    draw.text((width // 2, height + 10), "Steps", font=font, fill="black")
    draw.text((margin - 30, 0), f"{high:.2f}", font=font, fill="black")
    draw.text((margin - 30, height - 10), f"{low:.2f}", font=font, fill="black")
    return image


@node(display_name="Plot Loss Graph", category="training", experimental=True, output_node=True, outputs=[],
      validate=lambda filename_prefix: check_prefix(filename_prefix))
def LossGraphNode(
    ctx: Context,
    loss: Annotated[Any, Socket(type="LOSS_MAP", tooltip="Loss map from training node.")],
    filename_prefix: Annotated[str, String(tooltip="Prefix for the saved loss graph image.")] = "loss_graph",
    prompt: Annotated[Any, Hidden("PROMPT")] = None,
    extra_pnginfo: Annotated[Any, Hidden("EXTRA_PNGINFO")] = None,
) -> NodeOutput:
    """Plots a training run's loss per step and shows it on the node (a preview image in temp/)."""
    from .image_io import save_images
    from .image_utils import from_pil

    image = from_pil(loss_graph([float(v) for v in loss.get("loss", [])]))
    results = save_images(image, ctx.folders, "temp", f"{filename_prefix}_temp", prompt, extra_pnginfo,
                          compress_level=1, run_id=ctx.prompt_id)
    return NodeOutput(ui={"images": results})


NODES = [TrainLoraNode, LoraModelLoader, SaveLoRA, LossGraphNode]
