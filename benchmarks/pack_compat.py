"""Real ComfyUI node packs on Inkgraph: how many of each pack's nodes register, and why the rest do not.

Give it a folder of packs exactly as fetched (ComfyUI-KJNodes, rgthree-comfy, ComfyUI_essentials …, never
committed to this repository). Each pack loads alone, in a subprocess, from a scratch base directory, as
``inkgraph serve`` would load it; the table shows

    pack | kind | nodes registered / nodes in the pack | load seconds | why it failed or what was skipped

and, per pack, the ComfyUI functions its missing nodes are waiting for (the stand-ins they touched), then
the ComfyUI names its source uses that Inkgraph answers with stand-ins: what its registered nodes will still
ask for when they run (``from comfy.sd import VAE``, ``comfy.model_management.load_models_gpu`` …).
"Nodes in the pack" is the length of its ``NODE_CLASS_MAPPINGS`` (or of its V3 extension's node list); for
a pack that fails to import, it is ``~N``, counted in its source (classes with ``INPUT_TYPES`` or
``define_schema``).

Packs run their own code while importing, and some install Python packages then: use a throw-away
environment (a venv of its own, with the packs' requirements installed). pip installs started by a pack are
refused here (``PIP_NO_INDEX``), so the figures are those of the environment as it is.

Then it tries a handful of each pack's image, mask, string and sampling nodes (``pack_cases_by_pack.py``)
through Inkgraph's engine, on a tiny SD1 checkpoint and LoRA made in the scratch folder, and compares each
result with the node's documented behaviour: an explicit value, or the built-in node the pack node is
documented to match. The second table is (pack, nodes registered / nodes in the pack, nodes tried, same).
``--no-try`` skips that.

Run: ``python benchmarks/pack_compat.py /path/to/custom_nodes [--only NAME …] [--timeout 300] [--no-try]``
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MISSING = re.compile(r"ComfyUI's ([\w.]+)(?: is not available|, not available)")


def load_one(pack: Path, try_nodes: bool = True) -> dict[str, Any]:
    """In the subprocess: load ``pack`` alone, describe the result, and try its nodes."""
    import logging
    import time

    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    logging.basicConfig(level=logging.CRITICAL)
    from inkgraph.engine.core.paths import Folders
    from inkgraph.engine.runtime.packs import default_registry

    with tempfile.TemporaryDirectory() as base:
        (Path(base) / "custom_nodes").mkdir()
        (Path(base) / "custom_nodes" / pack.name).symlink_to(pack.resolve(), target_is_directory=pack.is_dir())
        if try_nodes:
            tiny_models(Path(base))
        start = time.perf_counter()
        registry = default_registry(entry_points=False, custom_nodes=[Path(base) / "custom_nodes"],
                                    folders=Folders.at(base).ensure())
        seconds = time.perf_counter() - start
        status = registry.packs[pack.name if pack.is_dir() else pack.stem]
        tried = try_pack(pack.name, registry, Path(base)) if try_nodes and status.loaded else []
    return {"pack": pack.name, "kind": status.kind, "loaded": status.loaded, "registered": status.node_count,
            "skipped": status.skipped_nodes, "error": status.error, "seconds": round(seconds, 2),
            "stand_ins": stand_ins_used(pack) if status.loaded else {}, "tried": tried}


def tiny_models(base: Path) -> None:
    """A tiny SD1 checkpoint and a kohya LoRA for it (the test suite's fixtures), for the sampling nodes."""
    from safetensors.torch import save_file

    from tests.fixtures.tiny_sd import save_single_file
    from tests.nodes.test_lora import kohya_lora

    models = save_single_file("sd1", base / "models" / "checkpoints" / "tiny_sd1.safetensors", seed=1)
    (base / "models" / "loras").mkdir(parents=True, exist_ok=True)
    save_file(kohya_lora(models), str(base / "models" / "loras" / "style.safetensors"))


def try_pack(pack: str, registry: Any, base: Path) -> list[dict[str, Any]]:
    """Run each case of ``pack`` through the engine and compare with its documented result."""
    import traceback

    from pack_cases import bench_nodes, cases

    from inkgraph.engine.core.settings import Settings
    from inkgraph.engine.runtime import Runtime

    captured: dict[str, Any] = {}
    registry.load_pack("benchmark", "benchmarks/pack_cases.py", lambda: bench_nodes(captured))
    runtime = Runtime.create(Settings(base_dir=base, cache="none"), registry=registry)
    results = []
    for case in cases(pack):
        captured.clear()
        prompt = dict(case.prompt)
        for label, (node_id, index) in case.probes.items():
            prompt[f"probe_{label}"] = {"class_type": "BenchProbe", "inputs": {"value": [node_id, index],
                                                                               "label": label}}
        try:
            result, outcome = runtime.run(prompt)
            if outcome is None:
                same, note = False, "invalid prompt: " + json.dumps(result.error_body())[:160]
            elif outcome.status_str != "success":
                same, note = False, f"failed: {str(outcome.error)[-200:]}"
            elif any(label not in captured for label in case.probes):
                errors = [f"{e.message}: {e.details}" for errs in result.node_errors.values() for e in errs.errors]
                same, note = False, "did not run: " + "; ".join(errors)[:200]
            else:
                same, note = case.expect(captured)
        except Exception as exc:  # a case must never stop the others
            same, note = False, f"{type(exc).__name__}: {exc} {traceback.format_exc(limit=-1)[-120:]}"
        results.append({"node": case.node, "same": bool(same), "note": note})
    return results


COMFY_TOPS = ("comfy", "comfy_extras", "comfy_api", "comfy_execution", "node_helpers", "latent_preview",
              "execution", "nodes", "folder_paths", "server")


def _references(tree: ast.AST) -> list[tuple[str, str]]:
    """(module, name) pairs a source file reads from ComfyUI: ``from comfy.sd import VAE``, ``comfy.sd.VAE``,
    ``mm.get_torch_device`` after ``import comfy.model_management as mm``."""
    aliases: dict[str, str] = {}
    found: list[tuple[str, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and not node.level and node.module \
                and node.module.split(".")[0] in COMFY_TOPS:
            found += [(node.module, a.name) for a in node.names if a.name != "*"]
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] in COMFY_TOPS:
                    aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
    inner = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and id(node) not in inner:  # whole chains only
            chain = [node.attr]
            value = node.value
            while isinstance(value, ast.Attribute):
                chain.insert(0, value.attr)
                value = value.value
            if isinstance(value, ast.Name) and value.id in aliases:
                parts = aliases[value.id].split(".") + chain
                found.append((".".join(parts[:-1]), parts[-1]))
    return found


def stand_ins_used(pack: Path) -> dict[str, int]:
    """ComfyUI names the pack's source reads that Inkgraph answers with stand-ins, with how often."""
    import importlib

    from inkgraph.engine.compat.stubs import is_stand_in

    counts: Counter[str] = Counter()
    for path in (pack.rglob("*.py") if pack.is_dir() else [pack]):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
        except (SyntaxError, ValueError):
            continue
        for module_name, name in _references(tree):
            module: Any = None
            parts = module_name.split(".")
            for cut in range(len(parts), 0, -1):  # comfy.samplers.KSampler.SAMPLERS: a module, then attributes
                try:
                    module = importlib.import_module(".".join(parts[:cut]))
                except Exception:
                    continue
                for attribute in parts[cut:]:
                    module = getattr(module, attribute, None)
                break
            try:
                value = getattr(module, name, None) if module is not None else None
            except Exception:
                value = None
            if value is not None and is_stand_in(value):
                counts[f"{module_name}.{name}"] += 1
    return dict(counts.most_common())


def declared_in_source(pack: Path) -> int:
    """Node classes in a pack's source: classes defining ``INPUT_TYPES`` or ``define_schema``."""
    count = 0
    for path in (pack.rglob("*.py") if pack.is_dir() else [pack]):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and any(
                    isinstance(item, ast.FunctionDef) and item.name in ("INPUT_TYPES", "define_schema")
                    for item in node.body):
                count += 1
    return count


def run_pack(pack: Path, timeout: float, try_nodes: bool = True) -> dict[str, Any]:
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": os.devnull, "PYTHONPATH": str(ROOT),
           "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, __file__, "--one", str(pack)] + ([] if try_nodes else ["--no-try"])
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env,
                              cwd=tempfile.gettempdir())
    except subprocess.TimeoutExpired:
        return {"pack": pack.name, "kind": "?", "loaded": False, "registered": 0, "skipped": [],
                "error": f"did not load within {timeout:.0f} s", "seconds": timeout, "stand_ins": {}, "tried": []}
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("{"):
            result: dict[str, Any] = json.loads(line)
            return result
    tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
    return {"pack": pack.name, "kind": "?", "loaded": False, "registered": 0, "skipped": [],
            "error": f"the loader itself failed: {tail}", "seconds": 0.0, "stand_ins": {}, "tried": []}


def table(results: list[dict[str, Any]], packs: dict[str, Path]) -> str:
    rows = [("pack", "kind", "registered / in pack", "load s", "load error / skipped")]
    for r in results:
        total = str(r["registered"] + len(r["skipped"])) if r["loaded"] else f"~{declared_in_source(packs[r['pack']])}"
        if r["error"]:
            note = r["error"].splitlines()[-1][:110]
        elif r["skipped"]:
            note = f"{len(r['skipped'])} skipped: " + "; ".join(s[:70] for s in r["skipped"][:2])
        else:
            note = ""
        rows.append((r["pack"], r["kind"], f"{r['registered']} / {total}", f"{r['seconds']:.1f}", note))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [" | ".join(cell.ljust(widths[i]) if i < 4 else cell for i, cell in enumerate(row)) for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def tried_table(results: list[dict[str, Any]], packs: dict[str, Path]) -> str:
    """(pack, nodes registered / nodes in the pack, nodes tried, same), then each node that differed."""
    rows = [("pack", "registered / in pack", "tried", "same")]
    notes = []
    for r in results:
        total = str(r["registered"] + len(r["skipped"])) if r["loaded"] else f"~{declared_in_source(packs[r['pack']])}"
        tried = r.get("tried") or []
        rows.append((r["pack"], f"{r['registered']} / {total}", str(len(tried)), str(sum(t["same"] for t in tried))))
        notes += [f"  {r['pack']} / {t['node']}: {t['note']}" for t in tried if not t["same"]]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [" | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines) + ("\nnot the same:\n" + "\n".join(notes) if notes else "")


def needs(results: list[dict[str, Any]]) -> str:
    """Per pack, the ComfyUI names its failures ran into (most frequent first)."""
    out = []
    for r in results:
        names: Counter[str] = Counter()
        for text in [r["error"] or "", *r["skipped"]]:
            names.update(MISSING.findall(text))
        if names:
            out.append(f"{r['pack']}: " + ", ".join(f"{name} ({count})" for name, count in names.most_common()))
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="a custom_nodes folder of packs as fetched")
    parser.add_argument("--only", nargs="+", default=[], help="these packs only (folder names)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds a pack may take to load")
    parser.add_argument("--no-try", action="store_true", help="only load the packs; do not try their nodes")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(load_one(args.folder, not args.no_try), default=str))
        return
    packs = {p.name: p for p in sorted(args.folder.iterdir()) if not p.name.startswith((".", "_"))
             and (p.is_dir() or p.suffix == ".py") and (not args.only or p.name in args.only)}
    results = [run_pack(pack, args.timeout, not args.no_try) for pack in packs.values()]
    print(table(results, packs))
    if not args.no_try:
        print("\nNodes tried against their documented behaviour:\n" + tried_table(results, packs))
    found = needs(results)
    if found:
        print("\nComfyUI functions the nodes that did not register are waiting for (count):\n" + found)
    print("\nComfyUI names the packs' code uses that are stand-ins in Inkgraph (references), the most used first:")
    for r in results:
        used = r.get("stand_ins") or {}
        top = ", ".join(f"{name} ({count})" for name, count in list(used.items())[:12])
        print(f"{r['pack']}: {len(used)} names; {top}{' …' if len(used) > 12 else ''}")


if __name__ == "__main__":
    main()
