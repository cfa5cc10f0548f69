"""`manage.py tailor_predict`: evaluate on the dataset's format, train from the site's journeys,
reload identically, export the site's sessions in that format, and the likelihood spread."""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from rules import journeys
from rules.engine.journey import record_conversion, record_page
from rules.ml import predict as ml
from rules.models import PredictionModel
from rules.profiles import Profile, profile_store

TRAIN_CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "online-shoppers" / "train.csv"
needs_data = pytest.mark.skipif(not TRAIN_CSV.is_file(), reason=f"{TRAIN_CSV} not present")


def run(*args) -> str:
    out = io.StringIO()
    call_command("tailor_predict", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def synthetic_csv(path: Path, n: int = 600, seed: int = 3) -> Path:
    """Sessions in the Online Shoppers format where product pages and page value drive purchases."""
    rng = random.Random(seed)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(ml.CSV_COLUMNS)
        for _ in range(n):
            products = rng.randint(0, 40)
            value = rng.choice([0, 0, 0, rng.uniform(1, 60)])
            buys = rng.random() < 1 / (1 + np.exp(3.5 - 0.05 * products - 0.08 * value))
            writer.writerow(
                [rng.randint(0, 5), rng.uniform(0, 200), rng.randint(0, 3), rng.uniform(0, 100), products]
                + [products * rng.uniform(20, 80), rng.uniform(0, 0.05), rng.uniform(0, 0.1), value]
                + [rng.choice(["Feb", "May", "Nov", "Dec"]), rng.choice(["Returning_Visitor", "New_Visitor"])]
                + [rng.choice(["TRUE", "FALSE"]), "TRUE" if buys else "FALSE"]
            )
    return path


def test_evaluate_prints_cross_validated_auc_average_precision_and_brier(tmp_path):
    out = run("evaluate", str(synthetic_csv(tmp_path / "s.csv")), "--folds", "3")
    assert "600 sessions, 3-fold cross-validation" in out
    figures = dict((k, float(v)) for k, v in (p.rsplit(" ", 1) for p in out.splitlines()[-1].split("  ")[:3]))
    assert set(figures) == {"AUC", "average precision", "Brier"}
    assert 0.6 < figures["AUC"] <= 1 and 0 < figures["Brier"] < 0.25


@needs_data
def test_evaluate_on_the_online_shoppers_train_split_reaches_the_goal():
    out = run("evaluate", str(TRAIN_CSV), "--folds", "5")
    auc = float(out.split("AUC ")[1].split()[0])
    brier = float(out.split("Brier ")[1].split()[0])
    assert auc >= 0.925 and brier < 0.075, out
    # the packaged model was trained on this file: on it (not unseen) it does better still
    out = run("evaluate", str(TRAIN_CSV), "--shipped")
    assert "the packaged model" in out and float(out.split("AUC ")[1].split()[0]) > auc


def test_bad_files_are_refused_with_the_place(tmp_path):
    missing = tmp_path / "m.csv"
    missing.write_text("Administrative,Revenue\n1,TRUE\n")
    with pytest.raises(CommandError, match="missing column.*PageValues"):
        run("evaluate", str(missing))
    bad = synthetic_csv(tmp_path / "b.csv", n=5)
    lines = bad.read_text().splitlines()
    lines[3] = "x" + lines[3]
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(CommandError, match="line 4, Administrative: expected a number"):
        run("evaluate", str(bad))
    with pytest.raises(CommandError, match="nope.csv"):
        run("evaluate", str(tmp_path / "nope.csv"))


def seed_journeys(n=240, seed=5):
    rng = random.Random(seed)
    store = profile_store()
    for i in range(n):
        profile = Profile(f"visitor-{i}", consent_personalization=True, visit_count=1, page_views=1)
        profile.devices = {rng.choice(["mobile", "desktop"]): 1}
        t = 1_790_000_000 + i * 5000
        buyer = rng.random() < 0.35
        for _ in range(rng.randint(4, 12) if buyer else rng.randint(1, 3)):
            page, section, kind = (rng.choice([10, 11]), "shop", "product") if buyer else (20, "blog", "informational")
            profile.journey = record_page(profile.journey, now=t, page_id=page, section=section, kind=kind, month=11)
            t += rng.randint(10, 120)
        if (buyer and rng.random() < 0.7) or rng.random() < 0.02:
            profile.journey = record_conversion(profile.journey, now=t, value=30)
        store.save(profile)
    # not consented: never read
    store.save(Profile("refused", journey=profile.journey))


def test_train_from_the_site_then_every_reload_predicts_bit_for_bit(db, tmp_path):
    seed_journeys()
    out = run("train", "--min-sessions", "200", "--min-conversions", "20")
    assert "240 sessions" in out and "trees from site" in out
    row = PredictionModel.objects.get(active=True)
    model, table = journeys.current_model()
    assert model.meta["trees_from"] == "site" and table.pages[10][0] > table.pages[20][0]

    # the same arrays read back from the database, a file, and again: identical predictions
    reread = ml.from_bytes(bytes(PredictionModel.objects.get(pk=row.pk).arrays), row.meta)
    ml.save(model, tmp_path)
    from_file = ml.load(tmp_path)
    X = np.random.default_rng(0).uniform(0, 30, size=(200, len(model.features)))
    expected = model.probability_many(X)
    assert np.array_equal(reread.probability_many(X), expected)
    assert np.array_equal(from_file.probability_many(X), expected)

    # the site's sessions in the dataset's format, read back by `evaluate`
    exported = tmp_path / "site.csv"
    assert "wrote 240 sessions" in run("export", str(exported))
    X2, y2 = ml.load_csv(exported)
    assert X2.shape == (240, len(model.features)) and 40 < y2.sum() < 120
    assert "AUC" in run("evaluate", str(exported), "--model")


def test_too_few_sessions_keep_the_current_trees_but_learn_page_values(db):
    seed_journeys(n=60)
    out = run("train")
    assert "trees from current" in out
    _model, table = journeys.current_model()
    assert set(table.pages) == {10, 11, 20} and "shop" in table.next_sections


def test_likelihood_spread_by_device_and_segment(db):
    seed_journeys(n=80)
    run("train", "--min-sessions", "50")
    spread = journeys.likelihood_spread()
    assert set(spread["device"]) == {"mobile", "desktop"}
    assert sum(g["n"] for g in spread["device"].values()) == 80
    assert all(0 <= g["mean"] <= 1 and 0 <= g["likely"] <= 1 for g in spread["device"].values())
    assert "(none)" in spread["segment"]
    assert json.loads(run("spread")) == spread


def test_bench_prints_the_request_time_latency(db):
    out = run("bench", "--repeat", "500")
    assert "probability: p50" in out and "probability + reasons: p50" in out


def test_the_readme_section_states_what_the_code_does():
    from rules.engine.journey import MAX_PAGES, MAX_SECTIONS, MAX_SESSIONS
    from sample_site.home.demo import next_step_slot

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## Prediction and journeys", 1)[1].split("\n## ", 1)[0]
    assert f"last {MAX_SESSIONS} sessions" in section and f"(at most {MAX_PAGES})" in section
    assert f"(at most {MAX_SECTIONS})" in section
    meta = ml.load().meta
    figures = f"AUC {meta['cv']['auc']:.4f}  average precision {meta['cv']['average_precision']:.4f}  Brier {meta['cv']['brier']:.4f}"
    assert figures in section, figures
    size_kb = round((ml.DATA_DIR / ml.MODEL_FILE).stat().st_size / 1000)
    assert f"{size_kb} KB" in section
    ready = next(v for v in next_step_slot()["value"]["variants"] if v["value"]["name"] == "Ready to start?")
    assert ready["value"]["conditions"][0]["value"]["threshold"] == 0.3 and "at least 30% likely" in section
