"""Inkgraph on a GPU: one command that checks every CUDA path against the CPU and measures speed.

Each section runs in a worker process under a hard time limit: a section that overruns is cut, reported as
``timeout`` with what it had finished, and the next one runs in a fresh worker. The report (report.json,
report.md, worker.log) is rewritten after every section under ``--out``, so even a run killed from outside
leaves its findings. ``python benchmarks/gpu_check.py --list`` shows the sections and their budgets.

Sections: env (versions, device, packages, caches, disk, offline) · pytest_cuda (the tests marked ``cuda``)
· tiny (tiny SD1/SDXL through the engine in fp32/fp16/bf16 against the CPU; the device policy) · attention
(SDPA kernels against float64) · fp8 (fp8 weight storage) · vae (never fp16 on CUDA, no NaN) · tiled_vae ·
lora (patch, then unpatch exactly) · previews (latent2rgb, TAESD) · interrupt · memory (the model manager's
VRAM accounting, --vram low, /free through the server) · compile (TorchCompileModel) · ray (a worker actor
holding the GPU) · speed_sd15 / speed_sdxl (it/s, first-step latency, peak VRAM, load time, against a plain
diffusers pipeline on the same random weights: our overhead as a ratio) · fullsize (full-size SD1.5/SDXL
against the CPU) · flux (Flux.1-dev 1024², when the Flux family exists). Tolerances: ``gpucheck/plan.py``.

Usage::

    python benchmarks/gpu_check.py --quick --out REPORT_DIR            # GPU, sized for a 10-minute slot
    python benchmarks/gpu_check.py --out REPORT_DIR                     # GPU, full sizes and more runs
    python benchmarks/gpu_check.py --device cpu --quick --out /tmp/gc   # CPU, tiny models: what CI runs

Nothing is downloaded: the models are full-size architectures with random weights, written as single files
in the original layout into a scratch folder (/dev/shm when it has room), and HF_HUB_OFFLINE is set; a guard
in the worker refuses and records any connection that would leave the machine.

On this workplace's device tool (nvidia-h200: no network, no diffusers/pydantic in its image), first put the
missing wheels in ``.whl/`` (``benchmarks/gpu_check_wheels.sh``, run once where pip reaches PyPI), then run,
with ``carry: [".whl"]`` and ``timeout_s: 600``::

    mkdir -p $OUT/gpu-report && python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site && (python3 -m pip install -q --no-index --no-deps --no-build-isolation -e . || echo "editable install failed: the check imports from the checkout") && set -o pipefail && PYTHONUNBUFFERED=1 python3 benchmarks/gpu_check.py --quick --out $OUT/gpu-report 2>&1 | tee $OUT/gpu-report/console.log

Exit status: 0 when every section passed or was skipped for a stated reason, 1 otherwise.
"""  # noqa: E501 - the device command is one line, to be copied whole

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout: inkgraph/, tests/, benchmarks/

from benchmarks.gpucheck.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(doc=__doc__))
