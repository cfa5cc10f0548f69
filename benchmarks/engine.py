"""Figures measured without Django: slot decisions, the bandits, the emotion classifiers."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np

from benchmarks.report import ROOT, Figure, spread
from benchmarks.workloads import heavy_slots, visitor_context
from rules.ml import emotion
from rules.ml.train_emotion import DATASETS, LABELS, f1_per_label, load_tsv
from variants.engine import decide
from variants.engine.traffic import (
    DRIFT_AT,
    EngineDriver,
    drift_scenario,
    segmented_scenario,
    simulate_traffic,
    stationary_scenario,
)

#: iterations of `sum(range(n))` taking about as long as one slot decision (~20 µs)
FIXED_WORK = 2000


def decision_figures(pages: int) -> list[Figure]:
    """Time of one slot decision on the heavy page (5 slots × 8 variants × 4 conditions each), each
    slot timed alone, over `pages` visitors' contexts."""
    t0 = time.perf_counter()
    slots = heavy_slots()
    compile_ms = (time.perf_counter() - t0) * 1000
    contexts = [visitor_context(i) for i in range(pages)]
    for ctx in contexts[:200]:  # warm the conditions' per-process caches
        for slot in slots:
            decide(slot, ctx)
    per_slot, per_page, floor = [], [], []
    clock = time.perf_counter_ns
    for ctx in contexts:
        page_ns = 0
        for slot in slots:
            t = clock()
            decide(slot, ctx)
            elapsed = clock() - t
            page_ns += elapsed
            per_slot.append(elapsed / 1000)
            # the same measurement around a fixed computation of about the same length: what the
            # machine (interrupts, the hypervisor, other processes) adds to any 20 µs of Python
            t = clock()
            sum(range(FIXED_WORK))
            floor.append((clock() - t) / 1000)
        per_page.append(page_ns / 1000)
    p99 = spread(per_slot)["p99"]
    machine = spread(floor)
    return [
        Figure(
            "decision_us",
            spread(per_slot)["p50"],
            "µs per slot (p50)",
            "p99 ≤ 50 µs",
            p99 <= 50,
            spread(per_slot),
            f"variants.engine.decide, 5 slots × 8 variants × 4 conditions, {pages:,} visitors' contexts",
            note=f"a fixed computation timed the same way between them (always the same work): p50 "
            f"{machine['p50']:.1f} µs, p99 {machine['p99']:.1f} µs; what the p99 adds to the p50 there is the machine's",
        ),
        Figure(
            "decision_page_us",
            spread(per_page)["p50"],
            "µs per page of 5 slots (p50)",
            "",
            None,
            spread(per_page),
            "the same, summed per page",
            note=f"compiling that page's conditions takes {compile_ms:.1f} ms, once per revision",
        ),
    ]


def bandit_figures() -> list[Figure]:
    seeds = range(3)
    ratios = []
    for seed in seeds:
        population, slot = stationary_scenario(seed)
        ratios.append(simulate_traffic(population, EngineDriver(slot), visitors=20_000, seed=seed).regret_ratio)
    population, slot = segmented_scenario(0)
    contextual = simulate_traffic(population, EngineDriver(slot), visitors=50_000, seed=0).oracle_fraction
    delays = []
    for seed in seeds:
        population, slot = drift_scenario(seed)
        result = simulate_traffic(population, EngineDriver(slot), visitors=2 * DRIFT_AT, seed=seed)
        delays.append(result.visitors_until_share("c", 0.5, after=DRIFT_AT))
    known = [d for d in delays if d is not None]
    return [
        Figure(
            "regret_ratio",
            round(statistics.median(ratios), 4),
            "× uniform split's regret (median)",
            "≤ 0.15",
            max(ratios) <= 0.15,
            {"min": round(min(ratios), 4), "max": round(max(ratios), 4), "seeds": len(ratios)},
            "Thompson sampling, 5 arms (2-5%), 20,000 synthetic visitors, seeds 0-2",
        ),
        Figure(
            "contextual_share",
            round(contextual, 4),
            "of the per-segment oracle's conversions",
            "≥ 0.95",
            contextual >= 0.95,
            {},
            "contextual bandit, 50,000 synthetic visitors in segments, seed 0",
        ),
        Figure(
            "drift_visitors",
            max(known) if len(known) == len(delays) else None,
            "visitors until the new best arm > 50% (worst)",
            "≤ 3,000",
            len(known) == len(delays) and max(known) <= 3000,
            {"min": min(known), "max": max(known)} if known else {},
            "forgetting Thompson sampling after the best arm changes, seeds 0-2",
        ),
    ]


def dev_split(language: str) -> Path | None:
    """GoEmotions' dev split beside the repository (`../shared/data/<dataset>/dev.tsv`), as
    `manage.py tailor_emotion` finds its data."""
    path = ROOT.parent / "shared" / "data" / DATASETS[language] / "dev.tsv"
    return path if path.is_file() else None


def emotion_figures(timed_texts: int = 2000) -> list[Figure]:
    figures = []
    for language in emotion.LANGUAGES:
        try:
            model = emotion.get_model(language)
        except (OSError, ValueError, KeyError) as error:
            figures.append(Figure(f"emotion_macro_f1_dev_{language}", None, "", note=f"no {language} model: {error}"))
            continue
        path = dev_split(language)
        if path is None:
            figures.append(
                Figure(
                    f"emotion_macro_f1_dev_{language}",
                    None,
                    "",
                    note=f"dev split not found at ../shared/data/ (GoEmotions {language})",
                )
            )
            continue
        texts, gold = load_tsv(path)
        index = {label: i for i, label in enumerate(LABELS)}
        pred = np.zeros_like(gold, dtype=bool)
        times = []
        for row, text in enumerate(texts):
            t = time.perf_counter_ns()
            result = model.predict(text)
            times.append((time.perf_counter_ns() - t) / 1e6)
            for label in result.labels:
                pred[row, index[label]] = True
        macro = float(f1_per_label(pred, gold).mean())
        figures.append(
            Figure(
                f"emotion_macro_f1_dev_{language}",
                round(macro, 4),
                "macro F1",
                "report",
                None,
                {"n": len(texts)},
                f"the shipped {language} classifier on GoEmotions{'-Korean' if language == 'ko' else ''} dev (Ekman)",
            )
        )
        ms = spread(times, 4)
        figures.append(
            Figure(
                f"emotion_ms_p50_{language}",
                ms["p50"],
                "ms per text (p50)",
                "≤ 1 ms",
                ms["p50"] <= 1,
                ms,
                f"EmotionModel.predict over the {len(texts):,} dev texts",
            )
        )
    return figures
