"""What a section found, and the JSON and Markdown reports made of it.

The report is rewritten after every section (to a temporary name, then renamed), so a run that is killed
from outside — the device tool's 10-minute limit, say — still leaves everything finished so far on disk.
Nothing here imports torch: the parent process, which only supervises, stays light.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

Status = Literal["pass", "fail", "error", "skip", "timeout", "crash", "not run"]
STATUS_ORDER: tuple[Status, ...] = ("pass", "skip", "fail", "error", "timeout", "crash", "not run")


@dataclass
class Check:
    """One comparison or assertion. ``ok`` None is a figure recorded for information only."""

    name: str
    ok: bool | None
    value: float | str | None = None
    limit: str = ""
    detail: str = ""


@dataclass
class Metric:
    name: str
    value: float | str | None
    unit: str = ""
    note: str = ""


@dataclass
class SectionResult:
    name: str
    title: str
    status: Status = "not run"
    seconds: float = 0.0
    budget_s: float = 0.0
    checks: list[Check] = field(default_factory=list)
    metrics: list[Metric] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    def add(self, kind: str, payload: dict[str, Any]) -> None:
        """A record streamed from the worker (so a section cut at its time limit keeps what it had done)."""
        if kind == "check":
            self.checks.append(Check(**payload))
        elif kind == "metric":
            self.metrics.append(Metric(**payload))
        elif kind == "note":
            self.notes.append(str(payload["text"]))

    def settle(self, status: Status, error: str | None = None) -> None:
        """The final status: a section that ran to its end passes unless one of its checks failed."""
        if status == "pass" and any(check.ok is False for check in self.checks):
            status = "fail"
        self.status, self.error = status, error


@dataclass
class Report:
    mode: str
    device: str
    command: str
    started: str
    sections: list[SectionResult] = field(default_factory=list)
    environment: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    finished: bool = False

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for section in self.sections:
            out[section.status] = out.get(section.status, 0) + 1
        return out

    def ok(self) -> bool:
        """Every section that ran passed or was skipped for a stated reason."""
        return all(s.status in ("pass", "skip") for s in self.sections)

    # -- writing ---------------------------------------------------------------------------------------
    def write(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        _atomic_write(folder / "report.json", json.dumps(_jsonable(asdict(self)), indent=1, ensure_ascii=False))
        _atomic_write(folder / "report.md", self.markdown())

    def markdown(self) -> str:
        lines = [f"# Inkgraph GPU check ({self.mode}, {self.device})", "",
                 f"Started {self.started}; {self.seconds:.0f} s"
                 f"{'' if self.finished else ' so far (the run did not finish)'}. Command: `{self.command}`", ""]
        counts = ", ".join(f"{n} {s}" for s in STATUS_ORDER if (n := self.counts().get(s)))
        lines += [f"Sections: {counts}.", ""]
        if self.environment:
            lines += ["## Environment", "", "| | |", "|---|---|"]
            lines += [f"| {key} | {_cell(value)} |" for key, value in self.environment.items()]
            lines.append("")
        lines += ["## Summary", "", "| section | status | time | budget | checks |", "|---|---|---|---|---|"]
        for s in self.sections:
            failed = sum(1 for c in s.checks if c.ok is False)
            passed = sum(1 for c in s.checks if c.ok is True)
            lines.append(f"| {s.name} | {s.status} | {s.seconds:.1f} s | {s.budget_s:.0f} s | "
                         f"{passed} ok{f', {failed} failed' if failed else ''} |")
        lines.append("")
        for s in self.sections:
            lines += self._section_markdown(s)
        return "\n".join(lines) + "\n"

    @staticmethod
    def _section_markdown(s: SectionResult) -> list[str]:
        lines = [f"## {s.name}: {s.title}", "", f"**{s.status}** in {s.seconds:.1f} s (budget {s.budget_s:.0f} s)", ""]
        if s.error:
            lines += ["```", s.error.strip()[-3000:], "```", ""]
        if s.checks:
            lines += ["| check | result | value | limit | detail |", "|---|---|---|---|---|"]
            for c in s.checks:
                mark = "info" if c.ok is None else ("ok" if c.ok else "**FAIL**")
                lines.append(f"| {c.name} | {mark} | {_cell(c.value)} | {_cell(c.limit)} | {_cell(c.detail)} |")
            lines.append("")
        if s.metrics:
            lines += ["| figure | value | unit | note |", "|---|---|---|---|"]
            lines += [f"| {m.name} | {_cell(m.value)} | {m.unit} | {_cell(m.note)} |" for m in s.metrics]
            lines.append("")
        lines += [f"- {note}" for note in s.notes]
        if s.notes:
            lines.append("")
        return lines


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        magnitude = abs(value)
        text = f"{value:.3g}" if magnitude and (magnitude < 1e-2 or magnitude >= 1e5) else f"{value:.4g}"
    else:
        text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _jsonable(value: Any) -> Any:
    """JSON has no NaN or infinity: they become strings, which every reader can still see."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _atomic_write(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
