"""Command line of the GPU check (``benchmarks/gpu_check.py``; its docstring is the user's guide)."""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import sys
from pathlib import Path

from . import plan
from .report import Check, Report, SectionResult
from .runner import Options, run_sections, work_dir

LOG_LIMIT_BYTES = 15 * 2**20  # the device tool brings back files of up to 16 MiB


def parse(argv: list[str] | None = None, doc: str | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="gpu_check.py", description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, help="folder for report.json, report.md and worker.log")
    parser.add_argument("--device", default="auto", help="cuda, cuda:N or cpu (default: cuda when there is one)")
    parser.add_argument("--quick", action="store_true", help="sized for a 10-minute slot (budgets sum < 8 min)")
    parser.add_argument("--sections", default="", help="comma-separated names to run (default: all); see --list")
    parser.add_argument("--skip", default="", help="comma-separated names not to run")
    parser.add_argument("--budget", action="append", default=[], metavar="NAME=SECONDS",
                        help="override one section's time limit")
    parser.add_argument("--budget-scale", type=float, default=1.0, metavar="FACTOR",
                        help="multiply every budget and the default deadline (a slow or busy machine)")
    parser.add_argument("--deadline", type=float, default=None,
                        help="overall limit in seconds (default: 480 with --quick, 3600 without)")
    parser.add_argument("--work", type=Path, default=None,
                        help="scratch folder for random-weight models (default: /dev/shm or the temp folder)")
    parser.add_argument("--keep-work", action="store_true", help="keep the scratch folder afterwards")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--list", action="store_true", help="list the sections and their budgets, then exit")
    args = parser.parse_args(argv)
    if not args.list and args.out is None:
        parser.error("--out is required")
    return args


def select(args: argparse.Namespace) -> list[str]:
    wanted = [n.strip() for n in args.sections.split(",") if n.strip()] or plan.default_names()
    skipped = {n.strip() for n in args.skip.split(",") if n.strip()}
    unknown = [n for n in [*wanted, *skipped] if n not in plan.BY_NAME]
    if unknown:
        raise SystemExit(f"unknown section(s): {', '.join(unknown)}; known: {', '.join(plan.default_names())}")
    return [n for n in wanted if n not in skipped]


def budgets(args: argparse.Namespace, names: list[str]) -> dict[str, float]:
    """Each section's time limit: its budget for the mode, times --budget-scale, or --budget's value."""
    out = {name: plan.BY_NAME[name].budget(args.quick) * args.budget_scale for name in names}
    for item in args.budget:
        name, _, seconds = item.partition("=")
        if name not in plan.BY_NAME or not seconds:
            raise SystemExit(f"--budget wants NAME=SECONDS with a known section name, not {item!r}")
        out[name] = float(seconds)
    return out


def prepare_environment(work: Path) -> None:
    """Offline everywhere, and every cache in the scratch folder: a fresh machine's home may be read-only
    or absent, and a cache left from another run must not make a compile look fast."""
    caches = work / "cache"
    defaults = {
        "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "DIFFUSERS_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1", "RAY_USAGE_STATS_ENABLED": "0",
        "HF_HOME": str(caches / "huggingface"), "TORCHINDUCTOR_CACHE_DIR": str(caches / "inductor"),
        "TRITON_CACHE_DIR": str(caches / "triton"), "TORCH_HOME": str(caches / "torch"),
        "XDG_CACHE_HOME": str(caches / "xdg"), "PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false",
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    for key in ("HF_HOME", "TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_DIR", "TORCH_HOME", "XDG_CACHE_HOME"):
        Path(os.environ[key]).mkdir(parents=True, exist_ok=True)
    os.environ["INKGRAPH_GPU_CHECK_NETLOG"] = str(work / "network.log")


def main(argv: list[str] | None = None, doc: str | None = None) -> int:
    args = parse(argv, doc)
    if args.list:
        for section in plan.SECTIONS:
            if not section.hidden:
                print(f"{section.name:<12} quick {section.quick_s:4.0f} s  full {section.full_s:4.0f} s  "
                      f"{section.title}")
        print(f"--quick at most {plan.quick_total_s():.0f} s with one worker start (limit {plan.QUICK_LIMIT_S:.0f} s)")
        return 0
    names = select(args)
    limits = budgets(args, names)
    work = work_dir(args.work, need_gb=0.5 if args.device == "cpu" else 12.0)
    prepare_environment(work)
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    (out / "worker.log").unlink(missing_ok=True)
    options = Options(device=args.device, quick=args.quick, work=work, out=out, threads=args.threads,
                      warm=any(not plan.BY_NAME[n].hidden for n in names),
                      startup_s=plan.STARTUP_BUDGET_S * args.budget_scale)
    mode = "quick" if args.quick else "full"
    report = Report(mode=mode, device=args.device, command=" ".join(sys.argv),
                    started=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))
    report.environment["scratch folder"] = str(work)
    report.environment["tolerances"] = "; ".join(f"{k}: {v}" for k, v in plan.tolerance_table().items())
    deadline = args.deadline or (plan.QUICK_LIMIT_S if args.quick else 3600.0) * args.budget_scale
    print(f"Inkgraph GPU check, {mode} mode, device {args.device}: {len(names)} sections, deadline {deadline:.0f} s; "
          f"report in {out}", flush=True)
    try:
        explicit = frozenset(n.strip() for n in args.sections.split(",") if n.strip())
        run_sections(names, options, report, deadline, limits, echo=lambda line: print(line, flush=True),
                     explicit=explicit)
        network = _network(work / "network.log")
        report.sections.append(network)
        report.write(out)
        check = network.checks[0]
        print(f"network: {'no connection off the machine attempted' if check.ok else check.detail}", flush=True)
    finally:
        _trim(out / "worker.log")
        if not args.keep_work:
            shutil.rmtree(work, ignore_errors=True)
    counts = ", ".join(f"{n} {s}" for s, n in report.counts().items())
    print(f"\n{counts} in {report.seconds:.0f} s; report: {out / 'report.md'}", flush=True)
    print(_summary_table(report), flush=True)
    return 0 if report.ok() else 1


def _network(log: Path) -> SectionResult:
    """Every connection the workers' guard refused, over all workers of the run."""
    attempts = log.read_text(encoding="utf-8").splitlines() if log.is_file() else []
    result = SectionResult("network", "Connections off the machine, refused by the workers' guard")
    result.checks.append(Check("no connection off the machine was attempted", not attempts, len(attempts),
                               detail="; ".join(attempts[:5])))
    result.settle("pass")
    return result


def _summary_table(report: Report) -> str:
    """The figures that matter most, printed last (the device tool returns the end of the output)."""
    lines = []
    for section in report.sections:
        for metric in section.metrics:
            if section.name.startswith(("speed", "flux", "compile")) or metric.name.startswith("ratio"):
                value = f"{metric.value:.3g}" if isinstance(metric.value, float) else str(metric.value)
                lines.append(f"  {section.name}: {metric.name} = {value} {metric.unit}".rstrip())
    return "\n".join(["Figures:", *lines]) if lines else ""


def _trim(log: Path) -> None:
    """Keep the end of a worker log that grew past what the device tool brings back."""
    if log.is_file() and log.stat().st_size > LOG_LIMIT_BYTES:
        with open(log, "rb") as handle:
            handle.seek(-LOG_LIMIT_BYTES, os.SEEK_END)
            tail = handle.read()
        log.write_bytes(b"[... earlier output trimmed ...]\n" + tail)
