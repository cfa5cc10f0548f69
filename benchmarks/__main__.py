"""`make bench`: performance figures, printed as a table. Goals live here, not in timed tests."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def bench_decide(repeat: int) -> list[tuple[str, str, str, str]]:
    from benchmarks.workloads import heavy_slots, visitor_context
    from variants.engine import decide

    t0 = time.perf_counter()
    slots = heavy_slots()
    compile_ms = (time.perf_counter() - t0) * 1000
    contexts = [visitor_context(i) for i in range(repeat)]
    it = iter(contexts)

    def decide_page():
        ctx = next(it)
        return [decide(s, ctx) for s in slots]

    samples = timed(decide_page, repeat)
    us = [s * 1e6 for s in samples]
    return [
        (
            "decide page (5 slots × 8 variants × 4 conditions)",
            f"{percentile(us, 50):.0f} µs p50",
            f"{percentile(us, 95):.0f} µs p95",
            "goal < 1,000 µs p95",
        ),
        ("compile that page's conditions", f"{compile_ms:.1f} ms", "once per revision", ""),
    ]


def bench_decide_translated(repeat: int) -> list[tuple[str, str, str, str]]:
    """The same page decided with Django's gettext installed, as in a request: reasons are worded in
    the active language (each string translated once per language and process)."""
    import django
    from django.conf import settings
    from django.utils import translation

    from benchmarks.workloads import heavy_slots, visitor_context
    from rules.engine import i18n
    from variants.engine import decide

    if not settings.configured:
        settings.configure(USE_I18N=True, LANGUAGE_CODE="en", INSTALLED_APPS=[])
        django.setup()
    i18n.set_translator(translation.gettext, translation.ngettext, translation.pgettext, translation.get_language)
    try:
        slots = heavy_slots()
        contexts = iter([visitor_context(i) for i in range(repeat)])

        def decide_page():
            ctx = next(contexts)
            return [decide(s, ctx) for s in slots]

        with translation.override("en"):
            samples = timed(decide_page, repeat)
    finally:
        i18n.set_translator(None)
    us = [s * 1e6 for s in samples]
    return [
        (
            "decide that page, Django's gettext active",
            f"{percentile(us, 50):.0f} µs p50",
            f"{percentile(us, 95):.0f} µs p95",
            "goal < 1,000 µs p95",
        )
    ]


def bench_emotion(repeat: int) -> list[tuple[str, str, str, str]]:
    try:
        from rules.ml.emotion import classify, get_model
    except ImportError:
        return [("emotion classifier", "not built", "", "")]
    get_model()
    texts = [
        "I can't believe this happened, I'm so upset",
        "thank you so much, this is wonderful!",
        "what? no way",
        "I miss her every day",
    ]
    cycle = iter(texts * (repeat // len(texts) + 1))
    samples = timed(lambda: classify(next(cycle)), repeat)
    ms = [s * 1000 for s in samples]
    data = Path(__file__).resolve().parent.parent / "rules" / "ml" / "data"
    size = sum(f.stat().st_size for f in data.glob("*") if f.is_file()) / 1e6 if data.exists() else 0
    return [
        (
            "emotion classify (per text)",
            f"{percentile(ms, 50):.3f} ms p50",
            f"{percentile(ms, 95):.3f} ms p95",
            "goal < 1 ms p50",
        ),
        ("emotion model on disk", f"{size:.1f} MB", "", "goal < 25 MB"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench")
    parser.add_argument("--repeat", type=int, default=5000)
    args = parser.parse_args(argv)
    rows: list[tuple[str, str, str, str]] = []
    rows += bench_decide(args.repeat)
    rows += bench_decide_translated(args.repeat)
    rows += bench_emotion(min(args.repeat, 2000))
    try:
        from benchmarks.bandits import bench_bandits
    except ImportError:
        pass
    else:
        rows += bench_bandits()
    widths = [max(len(r[i]) for r in rows + [("benchmark", "result", "", "goal")]) for i in range(4)]
    header = ("benchmark", "result", "", "goal")
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
