"""What `make bench` reports: figures with their unit, spread and goal, the machine they were measured
on, printed as a table and written to `benchmarks/out/latest.json`."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path

import django
import wagtail

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent / "out"

#: why `make bench` stops before measuring anything when the load part cannot run
WRK_MISSING = (
    "wrk is not installed: the load part needs it (apt-get install wrk; brew install wrk), "
    "or leave that part out: make bench BENCH_ARGS='--skip load'"
)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0-100) of a non-empty list."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def spread(values: list[float], digits: int = 3) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 50), digits),
        "p95": round(percentile(values, 95), digits),
        "p99": round(percentile(values, 99), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "n": len(values),
    }


@dataclass
class Figure:
    """One measured figure. `holds` is None when there is no goal or it could not be measured."""

    name: str
    value: float | None
    unit: str
    goal: str = ""
    holds: bool | None = None
    spread: dict = field(default_factory=dict)
    how: str = ""
    note: str = ""

    def shown_value(self) -> str:
        if self.value is None:
            return "not measured"
        if isinstance(self.value, float) and not self.value.is_integer():
            text = f"{self.value:.3f}" if abs(self.value) < 10 else f"{self.value:,.1f}"
        else:
            text = f"{self.value:,.0f}"
        return f"{text} {self.unit}".strip()

    def shown_spread(self) -> str:
        s = self.spread
        if {"p50", "p99"} <= s.keys():
            return f"p50 {s['p50']:.4g} / p95 {s.get('p95', float('nan')):.4g} / p99 {s['p99']:.4g}"
        if {"min", "max"} <= s.keys():
            return f"min {s['min']:.4g} / max {s['max']:.4g}"
        return ""

    def verdict(self) -> str:
        return {True: "holds", False: "MISSES", None: ""}[self.holds]


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor()
    ram_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "ram_gb": ram_gb,
        "os": platform.platform(),
        "python": platform.python_version(),
        "django": django.__version__,
        "wagtail": wagtail.__version__,
        "git_commit": git("rev-parse", "HEAD"),
        "git_dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        "database": os.environ.get("DATABASE_URL", "").split("@")[-1] or "sqlite (a file of its own)",
        "redis": (os.environ.get("REDIS_URL") or "").split("@")[-1] or None,
    }


def table(figures: list[Figure]) -> str:
    rows = [("figure", "value", "spread", "goal", "")]
    rows += [(f.name, f.shown_value(), f.shown_spread(), f.goal, f.verdict()) for f in figures]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = [" | ".join(c.ljust(w) for c, w in zip(rows[0], widths, strict=True)).rstrip()]
    lines.append("-+-".join("-" * w for w in widths))
    lines += [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows[1:]]
    notes = [f"- {f.name}: {f.note}" for f in figures if f.note]
    return "\n".join(lines + ([""] + notes if notes else []))


def write(figures: list[Figure], facts: dict, seconds: float, path: Path | None = None) -> Path:
    path = path or OUT / "latest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"machine": facts, "wall_seconds": round(seconds, 1), "figures": [asdict(f) for f in figures]}
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return path
