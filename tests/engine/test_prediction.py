"""The journey and prediction engines, through their plain-Python API (no Django)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rules.engine import ConditionError, Context, Fact, registry
from rules.engine.journey import (
    MAX_DWELL_SECONDS,
    Stage,
    assign_stage,
    entry_source,
    page_kind,
    record_conversion,
    record_page,
    section_transitions,
    summarize,
)
from rules.engine.prediction import (
    FEATURES,
    Likelihood,
    SiteTable,
    TreeModel,
    next_section,
    predict_likelihood,
    session_features,
    vector,
)
from rules.ml import predict as ml

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_790_000_000


def shopping_journey(product_views=6, seconds=60):
    journey = None
    t = T0
    journey = record_page(journey, now=t, page_id=1, section="about", kind="informational", entry="search", month=11)
    for i in range(product_views):
        t += seconds
        journey = record_page(journey, now=t, page_id=10 + i % 3, section="products", kind="product")
    return journey, t


def ctx_with(summary=None, **facts) -> Context:
    all_facts = {"journey": summary, **facts}
    return Context({k: Fact(k, v, "profile") for k, v in all_facts.items() if v is not None})


# --- journeys -----------------------------------------------------------------------------------


def test_a_journey_counts_kinds_dwell_sections_and_the_trail():
    journey, t = shopping_journey(product_views=4, seconds=90)
    journey = record_page(journey, now=t + 1700, page_id=1, section="about", kind="informational")  # same session
    journey = record_conversion(journey, now=t + 5001, value=49)
    session = journey["sessions"][-1]
    assert session["views"] == 6 and session["pages"] == [1, 10, 11, 12, 10, 1]
    # dwell: the time to the next view, credited to the page left (the last page's is not known yet)
    assert session["kinds"]["product"] == [4, 3 * 90 + 1700] and session["kinds"]["informational"] == [2, 90]
    assert 1700 <= MAX_DWELL_SECONDS
    assert session["trail"] == ["about", "products", "about"]
    assert session["entry"] == "search" and session["conv"] == 1 and session["conv_at"] == 6
    summary = summarize(journey)
    assert summary.kind_pages("product") == 4 and summary.conversions == 1 and not summary.bounced


def test_a_gap_starts_a_new_session_and_old_sessions_expire():
    journey, t = shopping_journey()
    journey = record_page(journey, now=t + 3600, page_id=1, section="about", kind="informational")
    assert len(journey["sessions"]) == 2 and summarize(journey).bounced
    journey = record_page(
        journey, now=t + 90 * 86400, page_id=1, section="x", kind="informational", retention_seconds=30 * 86400
    )
    assert len(journey["sessions"]) == 1


def test_page_kinds_and_entry_sources():
    assert page_kind("products") == page_kind(None, "productpage") == page_kind("checkout") == "product"
    assert page_kind("account") == "administrative" and page_kind("blog") == "informational"
    assert page_kind("blog", declared="product") == "product"
    assert entry_source({"source": "news"}, "https://google.com/") == "campaign"
    assert entry_source(None, "https://www.google.com/search") == "search"
    assert entry_source(None, "") == "direct" and entry_source(None, None) == "unknown"
    assert entry_source(None, "https://example.org/post") == "referral"


def test_journey_metric_condition():
    journey, _t = shopping_journey(product_views=12, seconds=40)
    summary = summarize(journey)
    cond = registry.build({"type": "journey", "metric": "product_pages", "min": 10})
    assert cond.evaluate(ctx_with(summary)) == (True, "12 product pages")
    miss = registry.build({"type": "journey", "metric": "minutes", "max": 2}).evaluate(ctx_with(summary))
    assert miss.value is False and "8 min this session" in miss.reason
    unknown = cond.evaluate(Context())
    assert unknown.value is None and "needs personalization consent" in unknown.reason
    with pytest.raises(ConditionError) as e:
        registry.build({"type": "journey", "metric": "section_pages", "min": 1})
    assert e.value.field == "section"
    with pytest.raises(ConditionError) as e:
        registry.build({"type": "journey", "metric": "bogus", "min": 1})
    assert e.value.field == "metric"


def test_the_furthest_matching_stage_wins_and_says_why():
    journey, _t = shopping_journey(product_views=5)
    summary = summarize(journey)
    build = registry.build
    stages = [
        Stage("discover", "Discover", 1, None),
        Stage("consider", "Consider", 2, build({"type": "journey", "metric": "product_pages", "min": 3})),
        Stage("decide", "Decide", 3, build({"type": "journey", "metric": "product_pages", "min": 10})),
    ]
    result = assign_stage(stages, ctx_with(summary))
    assert (result.slug, result.reason) == ("consider", "Consider: 5 product pages")
    stage = build({"type": "journey_stage", "stage": "decide", "name": "Decide"})
    assert stage.evaluate(ctx_with(summary, journey_stage=result)) == (False, "In stage Consider, not Decide")
    assert build({"type": "journey_stage", "stage": "consider"}).evaluate(ctx_with(summary, journey_stage=result)).value


# --- the model ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_data():
    rng = np.random.default_rng(1)
    n = 1500
    X = np.abs(rng.normal(size=(n, len(FEATURES)))) * [2, 60, 1, 30, 20, 900, 0.02, 0.05, 8, 6, 1, 1]
    X[:, 9] = rng.integers(1, 13, n)
    logit = -3 + 0.15 * X[:, 4] + 0.25 * X[:, 8] - 30 * X[:, 7]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y


@pytest.fixture(scope="module")
def fitted(small_data):
    X, y = small_data
    sk = ml.train_model(X, y, {"n_estimators": 60})
    return sk, ml.export(sk)


def test_exported_trees_match_scikit_learn(small_data, fitted):
    X, _y = small_data
    sk, model = fitted
    expected = sk.predict_proba(X)[:, 1]
    assert np.abs(model.probability_many(X) - expected).max() < 1e-12
    assert max(abs(model.probability(X[i]) - expected[i]) for i in range(100)) < 1e-12


def test_a_saved_model_reloads_bit_for_bit(tmp_path, small_data, fitted):
    X, _y = small_data
    _sk, model = fitted
    ml.save(model, tmp_path)
    again = ml.load(tmp_path)
    assert np.array_equal(again.probability_many(X), model.probability_many(X))
    assert [again.probability(X[i]) for i in range(50)] == [model.probability(X[i]) for i in range(50)]
    # plain arrays: loading runs no code from the file
    with np.load(tmp_path / ml.MODEL_FILE, allow_pickle=False) as arrays:
        assert all(arrays[k].dtype != object for k in arrays.files)


def test_request_time_latency_is_under_a_tenth_of_a_millisecond():
    model = ml.load()  # the shipped model
    x = vector(dict.fromkeys(FEATURES, 1.0), model.features)
    times = []
    for _ in range(2000):
        t = time.perf_counter()
        model.probability(x)
        times.append(time.perf_counter() - t)
    assert np.median(times) < 1e-4, f"p50 {np.median(times) * 1000:.4f} ms"


def test_the_shipped_model_is_the_one_its_meta_describes():
    model = ml.load()
    assert model.features == FEATURES and model.meta["cv"]["auc"] >= 0.93
    assert (ml.DATA_DIR / ml.MODEL_FILE).stat().st_size < 100_000


def test_reasons_name_the_strongest_signals(fitted):
    _sk, model = fitted
    journey, _t = shopping_journey(product_views=12, seconds=40)
    table = SiteTable({10: (30.0, 0.0, 0.01), 11: (30.0, 0.0, 0.01), 12: (30.0, 0.0, 0.01)}, (0.0, 0.2, 0.2))
    row = session_features(journey["sessions"][-1], table, returning=False)
    assert row["ProductRelated"] == 12 and row["ProductRelated_Duration"] == 11 * 40 and row["Month"] == 11
    likely = predict_likelihood(model, row)
    assert likely.probability > 0.5
    assert any(s.startswith("12 product pages, 7 min") for s in likely.signals), likely.signals
    cond = registry.build({"type": "likely_to_convert", "threshold": 0.5})
    out = cond.evaluate(Context({"conversion_likelihood": Fact("conversion_likelihood", likely, "profile")}))
    assert out.value is True and "likely to convert" in out.reason
    low = Likelihood(0.1, ("no product pages",))
    out = cond.evaluate(Context({"conversion_likelihood": Fact("conversion_likelihood", low, "profile")}))
    assert out == (False, "10% likely to convert (no product pages); wants at least 50%")
    assert cond.evaluate(Context()).value is None
    with pytest.raises(ConditionError) as e:
        registry.build({"type": "likely_to_convert", "threshold": 2})
    assert e.value.field == "threshold"


def test_the_next_section_comes_from_the_sites_transitions():
    sessions = [{"trail": ["about", "products", "pricing"]}] * 3 + [{"trail": ["products", "about"]}]
    assert section_transitions(s["trail"] for s in sessions)["products"] == {"pricing": 3, "about": 1}
    table = ml.site_table(sessions)
    nxt = next_section(table, ("about", "products"))
    assert nxt.ranked[0] == ("pricing", 0.75)
    cond = registry.build({"type": "likely_next_section", "section": "pricing", "min_probability": 0.5})
    out = cond.evaluate(Context({"next_section": Fact("next_section", nxt, "profile")}))
    assert out == (True, "75% of visitors in products go to pricing next")
    assert next_section(table, ()) is None


def test_bad_model_arrays_are_refused():
    arrays = TreeModel(
        FEATURES, np.zeros((1, 1), int), np.zeros((1, 1)), np.zeros((1, 2)), np.zeros((1, 1)), 0.0, 1
    ).arrays()
    arrays["feature"] = np.full((1, 1), 99)
    with pytest.raises(ValueError, match="feature"):
        TreeModel.from_arrays(arrays, FEATURES)


def test_prediction_modules_import_no_django():
    code = (
        "import sys, rules.engine.journey, rules.engine.prediction, rules.ml.predict\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'wagtail', 'graphene'))))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env={"PATH": ""})
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == ""
