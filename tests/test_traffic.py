"""`manage.py tailor_traffic`: a synthetic population through the service layer, with regret figures."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from variants import traffic as traffic_module
from variants.feedback import stats_store
from variants.models import ArmStat, Event


def simulate(*args: str) -> str:
    out = io.StringIO()
    call_command("tailor_traffic", *args, stdout=out)
    return out.getvalue()


def simulate_json(*args: str) -> list[dict]:
    return [json.loads(line) for line in simulate(*args, "--json").splitlines() if line.strip()]


def test_the_report_gives_regret_against_the_oracle_and_the_uniform_split(db):
    text = simulate("--visitors", "1500", "--refresh-every", "100")

    assert "Simulated 1,500 visitors: scenario cta, BANDIT, Thompson sampling" in text
    assert "path: personalize_compiled -> record_event -> feedback refresh; store: database" in text
    assert "true rates: Learn more 2.0%, Start free trial 10%, Book a demo 2.0%" in text
    assert "regret vs oracle:" in text and "regret vs uniform split:" in text
    assert "final weights:" in text


def test_the_bandit_beats_the_uniform_split_and_comes_close_to_the_oracle_on_both_backends(state_backend, db):
    (run,) = simulate_json("--visitors", "1500", "--refresh-every", "100", "--seed", "3")

    assert run["store"] == state_backend
    assert run["expected_conversions"] > run["uniform_conversions"] + 50
    assert run["regret_ratio"] < 0.5  # well under half of the uniform split's regret
    assert run["traffic_share_last_10pct"]["Start free trial"] > 0.8
    assert run["regret_vs_uniform"] < 0


def test_a_seeded_run_repeats_exactly(db):
    first, second = simulate_json("--visitors", "600"), simulate_json("--visitors", "600")

    for run in (first[0], second[0]):
        run.pop("seconds")
    assert first == second


def test_each_visitor_goes_through_personalize_and_record_event(db, monkeypatch):
    calls = {"decide": 0, "record": []}
    real_decide, real_record = traffic_module.personalize_compiled, traffic_module.record_event

    def decide(*args, **kwargs):
        calls["decide"] += 1
        return real_decide(*args, **kwargs)

    def record(token, kind, *args, **kwargs):
        calls["record"].append(kind)
        return real_record(token, kind, *args, **kwargs)

    monkeypatch.setattr(traffic_module, "personalize_compiled", decide)
    monkeypatch.setattr(traffic_module, "record_event", record)

    (run,) = simulate_json("--visitors", "400")

    assert calls["decide"] == 400
    assert calls["record"].count("impression") == 400
    assert calls["record"].count("conversion") == run["conversions"]


def test_a_simulation_leaves_no_stats_or_events_behind(state_backend, db):
    simulate("--visitors", "300")

    assert not ArmStat.objects.exists() and not Event.objects.exists()
    if state_backend == "redis":
        from tailor.redis import get_redis
        from tailor.settings import tailor_settings

        assert list(get_redis().scan_iter(match=tailor_settings.REDIS_PREFIX + "*")) == []


def test_contextual_learns_a_best_arm_per_segment(db):
    (run,) = simulate_json("--scenario", "segmented", "--visitors", "4000", "--min-impressions", "100")

    assert run["policy"] == "CONTEXTUAL"
    weights = run["final_weights"]
    assert max(weights["segment=new"], key=weights["segment=new"].get) == "a"
    assert max(weights["segment=returning"], key=weights["segment=returning"].get) == "b"
    assert max(weights["segment=vip"], key=weights["segment=vip"].get) == "d"
    assert run["oracle_fraction"] > run["uniform_conversions"] / run["oracle_conversions"]


def test_drifting_rates_with_forgetting_follow_the_new_best_arm(db):
    (run,) = simulate_json(
        "--scenario",
        "drift",
        "--visitors",
        "5000",
        "--drift-at",
        "2000",
        "--drift-rates",
        '{"a": 0.02, "b": 0.03, "c": 0.08}',
        "--half-life",
        "400",
    )

    assert run["options"]["half_life"] == 400
    late = run["traffic_share_last_10pct"]
    assert late["c"] > 0.5 and late["c"] == max(late.values())


def test_simulating_a_published_slot_uses_its_variants(home_page):
    (run,) = simulate_json("--page", "/", "--slot", "cta", "--visitors", "800", "--refresh-every", "100")

    assert run["policy"] == "BANDIT"
    assert set(run["traffic_share"]) == {"Learn more", "Start free trial", "Book a demo"}
    assert stats_store().snapshot(["anything"]) == {"anything": {}}
    assert not ArmStat.objects.exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--page", "/", "--slot", "hero"], "no variant named"),
        (["--page", "/", "--slot", "nope"], "has no slot 'nope'"),
        (["--page", "/nowhere/", "--slot", "cta"], "no live page"),
        (["--rates", "{nope"], "--rates: not JSON"),
        (["--rates", '{"a": 2}'], "rates: rates must be between 0 and 1"),
        (["--drift-at", "10"], "--drift-at and --drift-rates go together"),
        (["--visitors", "0"], "at least 1"),
    ],
)
def test_bad_arguments_are_command_errors(home_page, args, message):
    with pytest.raises(CommandError, match=message):
        simulate(*args)
