"""The sections of the check, their time limits, and the tolerances every comparison is held to.

A section is a module under ``sections/`` with a ``run(ctx)`` function; it runs in the worker process, and
the supervisor cuts it when it overruns its budget (see ``runner.py``). Budgets are hard limits, not
estimates: a section that is still running when its budget ends is killed with its worker, reported as
``timeout`` with whatever it had recorded, and the next section starts in a fresh worker.

``--quick`` is sized for the device tool's 10-minute command limit: its budgets plus one worker start sum
to under 8 minutes (a test holds that), leaving time for the install before it and a margin. The full mode
runs larger images, more steps and more runs, for a machine held longer (or a few ``--sections`` at a time).
"""

from __future__ import annotations

from dataclasses import dataclass

QUICK_LIMIT_S = 480.0  # --quick must fit this, worker start included (the device tool allows 600 s)
STARTUP_BUDGET_S = 30.0  # one worker start: Python, torch, diffusers and transformers imports, CUDA init
CPU_QUICK_EXCLUDED = "not in the CPU's quick run (what CI runs): run without --quick, or name it in --sections"


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    quick_s: float  # budget in --quick
    full_s: float  # budget otherwise
    cpu_quick: bool = True  # runs in --device cpu --quick (the CI run); otherwise skipped there with a reason
    hidden: bool = False  # self-tests of the supervisor: only when named in --sections

    def budget(self, quick: bool) -> float:
        return self.quick_s if quick else self.full_s


SECTIONS: tuple[Section, ...] = (
    Section("env", "Environment: versions, device, optional packages, caches, disk, offline", 10, 15),
    Section("pytest_cuda", "The tests marked `cuda` (tests/cuda), run by pytest on this device", 25, 60,
            cpu_quick=False),
    Section("tiny", "Tiny SD1/SDXL through the engine in fp32/fp16/bf16 against the CPU in fp32; dtype policy",
            40, 60),
    Section("attention", "SDPA kernels (flash, memory-efficient, cuDNN, math) against float64; the UNet's "
            "attention processor", 15, 30),
    Section("fp8", "fp8 weight storage (quantize_linears / FP8Linear; UNETLoader weight_dtype when present)",
            20, 40),
    Section("vae", "VAE precision policy: never fp16 on CUDA, no NaN in bf16/fp32, SDXL-size VAE against the CPU",
            20, 40),
    Section("tiled_vae", "VAEDecodeTiled against the whole decode and against the CPU; VRAM saved", 15, 30),
    Section("lora", "LoRA patch through LoraLoader against the CPU, then unpatch restores every weight exactly",
            10, 30),
    Section("previews", "Live previews while sampling: latent2rgb and TAESD, TAESD against the CPU", 10, 30),
    Section("interrupt", "Interrupt mid-sampling: how fast it stops, and the engine runs again afterwards",
            10, 30),
    Section("memory", "Model manager VRAM accounting: load, offload under --vram low, /free through the server",
            25, 60),
    Section("compile", "TorchCompileModel (inductor) against eager: compile time, speed, agreement", 50, 240),
    Section("ray", "Ray scale-out: a worker actor holding the GPU resource runs a prompt", 15, 60, cpu_quick=False),
    Section("speed_sd15", "SD1.5 512² speed: Inkgraph against a plain diffusers pipeline (same weights, same card)",
            45, 120),
    Section("speed_sdxl", "SDXL 1024² speed: Inkgraph against a plain diffusers pipeline (same weights, same card)",
            65, 180),
    Section("fullsize", "Full-size SD1.5 and SDXL through the engine against the CPU in fp32", 45, 240,
            cpu_quick=False),
    Section("flux", "Flux.1-dev 1024² speed (when the Flux family exists)", 10, 300),
    Section("selftest_sleep", "Supervisor self-test: a section that overruns its budget", 2, 2, hidden=True),
    Section("selftest_crash", "Supervisor self-test: a section whose worker dies", 5, 5, hidden=True),
)

BY_NAME = {section.name: section for section in SECTIONS}


def default_names() -> list[str]:
    return [s.name for s in SECTIONS if not s.hidden]


def quick_total_s() -> float:
    """What --quick may take at most: every section's budget and one worker start."""
    return sum(s.quick_s for s in SECTIONS if not s.hidden) + STARTUP_BUDGET_S


# Relative L2 error ‖out − ref‖ / ‖ref‖ allowed against the CPU in fp32. Why these numbers: fp32 on CUDA
# runs convolutions in TF32 by default (10-bit mantissa, ~5e-4 per operation); fp16 keeps 11 bits but
# rounds every stored activation; bf16 keeps 8 bits (~4e-3 per operation). Errors grow with depth and with
# the sampler's steps, so full-size models get twice the tiny models' allowance. On the CPU the tiny models'
# UNet predictions came within 6e-4 (fp16) and 4.5e-3 (bf16) of fp32: the margins are 15× and 7×, while a
# wrong kernel is off by order 1. NaN or infinity never passes, whatever the tolerance.
TOLERANCES: dict[str, float] = {"fp32": 5e-3, "fp16": 1e-2, "bf16": 3e-2}
FULL_SIZE_FACTOR = 2.0
FP8_TOLERANCES: dict[str, float] = {"fp8_e4m3fn": 0.12, "fp8_e5m2": 0.25}  # 3 and 2 mantissa bits per weight
SDPA_TOLERANCES: dict[str, float] = {"fp32": 1e-4, "fp16": 5e-3, "bf16": 3e-2}  # one attention, float64 reference


def tolerance(dtype: str, full_size: bool = False) -> float:
    return TOLERANCES[dtype] * (FULL_SIZE_FACTOR if full_size else 1.0)


def tolerance_table() -> dict[str, str]:
    """The tolerances as the report states them."""
    return {
        **{f"engine vs CPU fp32, {k}": f"rel. L2 ≤ {v:g} (tiny), ≤ {v * FULL_SIZE_FACTOR:g} (full-size)"
           for k, v in TOLERANCES.items()},
        **{f"{k} storage vs fp32 weights": f"rel. L2 ≤ {v:g}" for k, v in FP8_TOLERANCES.items()},
        **{f"SDPA {k} vs float64": f"rel. L2 ≤ {v:g}" for k, v in SDPA_TOLERANCES.items()},
    }
