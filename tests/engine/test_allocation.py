"""Allocation: restricting weights to eligible arms, the sticky hash pick, and decide() for
the weighted policies (AB / BANDIT / CONTEXTUAL), including context buckets."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.engine import Condition, Context, Outcome
from variants.engine.allocation import pick, restrict, unit_interval
from variants.engine.contextual import (
    allocation_for,
    attribute_value,
    bucket_for,
    context_keys,
    split_attributes,
)
from variants.engine.decide import UNIT_FACT, Slot, Variant, decide

arm_ids = st.text(alphabet="abcdefgh-0123456789", min_size=1, max_size=6)
weight_maps = st.dictionaries(arm_ids, st.floats(0.001, 100, allow_nan=False), min_size=1, max_size=8)


# -- pick and restrict -----------------------------------------------------------------------------


def test_pick_returns_the_arm_and_its_exact_share():
    arm, probability = pick({"a": 1.0, "b": 3.0}, "visitor-1", "slot")
    assert probability == {"a": 0.25, "b": 0.75}[arm]


def test_pick_walks_sorted_arms_so_mapping_order_does_not_matter():
    for unit in (f"v{i}" for i in range(200)):
        assert pick({"a": 0.2, "b": 0.3, "c": 0.5}, unit, "s") == pick({"c": 0.5, "a": 0.2, "b": 0.3}, unit, "s")


def test_pick_never_chooses_an_arm_without_weight():
    assert {pick({"a": 0.0, "b": 1.0}, f"v{i}", "s")[0] for i in range(300)} == {"b"}


def test_pick_refuses_unusable_weights():
    for bad in ({}, {"a": 0.0}, {"a": -1.0, "b": 2.0}, {"a": float("nan")}, {"a": float("inf")}):
        with pytest.raises(ValueError):
            pick(bad, "v", "s")


def test_picks_over_many_visitors_follow_the_weights():
    weights = {"a": 0.1, "b": 0.3, "c": 0.6}
    counts = {"a": 0, "b": 0, "c": 0}
    for i in range(20_000):
        counts[pick(weights, f"visitor-{i}", "slot-1")[0]] += 1
    for arm, w in weights.items():
        assert abs(counts[arm] / 20_000 - w) < 0.015


def test_different_slots_split_the_same_visitors_independently():
    same = sum(
        pick({"a": 0.5, "b": 0.5}, f"v{i}", "slot-1")[0] == pick({"a": 0.5, "b": 0.5}, f"v{i}", "slot-2")[0]
        for i in range(4000)
    )
    assert 0.45 < same / 4000 < 0.55


def test_a_visitor_keeps_their_arm_when_other_arms_shift_slightly():
    before = {"a": 0.50, "b": 0.30, "c": 0.20}
    after = {"a": 0.51, "b": 0.29, "c": 0.20}
    moved = sum(pick(before, f"v{i}", "s")[0] != pick(after, f"v{i}", "s")[0] for i in range(10_000))
    assert moved / 10_000 < 0.02  # only the visitors near the moved boundary


def test_without_a_unit_the_draw_comes_from_the_rng():
    draws = [pick({"a": 1, "b": 1}, None, "s", random.Random(3))[0] for _ in range(5)]
    assert draws == [pick({"a": 1, "b": 1}, None, "s", random.Random(3))[0] for _ in range(5)]
    rng = random.Random(4)
    assert {pick({"a": 1, "b": 1}, None, "s", rng)[0] for _ in range(50)} == {"a", "b"}


def test_unit_interval_is_uniform_in_zero_one():
    values = [unit_interval("salt", str(i)) for i in range(10_000)]
    assert 0 <= min(values) and max(values) < 1
    assert abs(sum(values) / len(values) - 0.5) < 0.01


def test_restrict_renormalises_over_the_eligible_arms():
    assert restrict({"a": 0.5, "b": 0.3, "c": 0.2}, ["b", "c"]) == pytest.approx({"b": 0.6, "c": 0.4})


def test_restrict_splits_evenly_without_weights_or_when_no_eligible_arm_has_weight():
    assert restrict(None, ["a", "b"]) == {"a": 0.5, "b": 0.5}
    assert restrict({"z": 1.0}, ["a", "b"]) == {"a": 0.5, "b": 0.5}
    assert restrict({"a": 1.0}, []) == {}


def test_restrict_gives_a_new_arm_nothing_until_the_next_refresh():
    assert restrict({"a": 0.7, "b": 0.3}, ["a", "new"]) == {"a": 1.0, "new": 0.0}


@settings(max_examples=200, deadline=None)
@given(weights=weight_maps, data=st.data())
def test_restricted_weights_sum_to_one_and_the_probability_is_the_chosen_arms_weight(weights, data):
    eligible = data.draw(st.lists(st.sampled_from(sorted(weights)), min_size=1, unique=True))
    restricted = restrict(weights, eligible)
    assert set(restricted) == set(eligible)
    assert math.isclose(sum(restricted.values()), 1.0)
    unit = data.draw(st.text(max_size=20))
    arm, probability = pick(restricted, unit, "slot")
    assert arm in eligible
    total = sum(weights[a] for a in eligible)
    assert math.isclose(probability, weights[arm] / total, rel_tol=1e-9)


@settings(max_examples=200, deadline=None)
@given(weights=weight_maps, unit=st.text(max_size=30), salt=st.text(max_size=10))
def test_the_same_visitor_gets_the_same_arm_while_weights_are_stable(weights, unit, salt):
    assert pick(weights, unit, salt) == pick(dict(weights), unit, salt)
    scaled = {a: w * 7 for a, w in weights.items()}  # the same shares, unnormalised
    assert pick(scaled, unit, salt)[0] == pick(weights, unit, salt)[0]


@settings(max_examples=100, deadline=None)
@given(weights=weight_maps, seed=st.integers(0, 2**32))
def test_draws_without_a_unit_are_reproducible_under_a_seed(weights, seed):
    one, two = random.Random(seed), random.Random(seed)
    assert [pick(weights, None, "s", one) for _ in range(5)] == [pick(weights, None, "s", two) for _ in range(5)]


# -- decide() for the weighted policies --------------------------------------------------------------


class FactIs(Condition):
    """Test-only condition: a context fact equals a value."""

    type = "test_fact_is"

    def __init__(self, name, value):
        self.name, self.value = name, value
        self.facts = (name,)

    def to_params(self):
        return {"name": self.name, "value": self.value}

    def describe(self):
        return f"{self.name} is {self.value}"

    def evaluate(self, ctx):
        actual = ctx.get(self.name)
        if actual is None:
            return self.unknown(self.name)
        return Outcome(
            actual == self.value, f"{self.describe()}" if actual == self.value else f"{self.name} is {actual}"
        )


def _slot(policy="BANDIT", options=None, **conditions):
    variants = tuple(
        Variant(arm, arm.upper(), FactIs(*conditions[arm]) if arm in conditions else None, weight)
        for arm, weight in (("a", 1.0), ("b", 1.0), ("c", 2.0))
    )
    return Slot("slot-1", "Hero", variants, policy, options or {})


def test_only_variants_whose_conditions_match_can_be_chosen():
    slot = _slot(b=("device", "mobile"), c=("device", "mobile"))
    ctx = Context.build(device="desktop")
    chosen = {
        decide(slot, ctx, allocation={"a": 0.01, "b": 0.5, "c": 0.49}, unit=f"v{i}").variant_id for i in range(50)
    }
    assert chosen == {"a"}
    decision = decide(slot, ctx, allocation={"a": 0.01, "b": 0.5, "c": 0.49}, unit="v1")
    assert decision.probability == 1.0
    assert decision.reasons == ("The only matching variant",)


def test_no_matching_variant_shows_the_default():
    slot = _slot(a=("device", "mobile"), b=("device", "mobile"), c=("device", "tablet"))
    decision = decide(slot, Context.build(device="desktop"), allocation={"a": 1.0}, unit="v1")
    assert (decision.variant_id, decision.policy, decision.probability) == ("default", "DEFAULT", 1.0)
    assert len(decision.evaluations) == 3


def test_unknown_facts_make_a_variant_ineligible():
    slot = _slot(a=("device", "mobile"))
    chosen = {decide(slot, Context.build(), unit=f"v{i}").variant_id for i in range(100)}
    assert chosen == {"b", "c"}


def test_probability_is_the_allocation_restricted_to_eligible_variants():
    slot = _slot(c=("device", "mobile"))
    for i in range(50):
        d = decide(slot, Context.build(device="desktop"), allocation={"a": 0.2, "b": 0.2, "c": 0.6}, unit=f"v{i}")
        assert d.probability == pytest.approx(0.5)
        assert d.policy == "BANDIT" and d.variant_id in ("a", "b")


def test_missing_allocation_splits_evenly_and_says_so():
    d = decide(_slot(), Context.build(), unit="v1")
    assert d.probability == pytest.approx(1 / 3)
    assert d.reasons == ("Exploring: 33% share (no results yet, Thompson sampling)",)


def test_ab_without_allocation_uses_the_variant_weights():
    d = decide(_slot("AB"), Context.build(), unit="v1")
    assert d.probability == pytest.approx({"a": 0.25, "b": 0.25, "c": 0.5}[d.variant_id])
    assert d.reasons == (f"A/B split: {d.probability:.0%} share",)


def test_reasons_tell_the_best_arm_from_exploration():
    allocation = {"a": 0.81, "b": 0.12, "c": 0.07}
    seen = {}
    for i in range(300):
        d = decide(_slot(options={"algorithm": "ucb1"}), Context.build(), allocation=allocation, unit=f"v{i}")
        seen[d.variant_id] = d.reasons
    assert seen["a"] == ("Best so far: 81% share (UCB1)",)
    assert seen["b"] == ("Exploring: 12% share (UCB1)",)
    assert seen["c"] == ("Exploring: 7% share (UCB1)",)


def test_the_targeting_reason_comes_first():
    slot = _slot(a=("device", "mobile"))
    ctx = Context.build(device="mobile")
    d = next(
        d
        for d in (decide(slot, ctx, allocation={"a": 0.9, "b": 0.05, "c": 0.05}, unit=f"v{i}") for i in range(50))
        if d.variant_id == "a"
    )
    assert d.reasons == ("device is mobile", "Best so far: 90% share (Thompson sampling)")


def test_weighted_decisions_list_every_variants_facts_and_the_visitor():
    d = decide(_slot(a=("device", "mobile"), b=("country", "KR")), Context.build(device="mobile"), unit="v1")
    assert d.facts == {"device", "country", UNIT_FACT}


def test_same_visitor_same_decision_and_no_unit_uses_the_rng():
    slot, ctx = _slot(), Context.build()
    allocation = {"a": 0.3, "b": 0.3, "c": 0.4}
    assert len({decide(slot, ctx, allocation=allocation, unit="v9").variant_id for _ in range(20)}) == 1
    rng = random.Random(1)
    assert len({decide(slot, ctx, allocation=allocation, rng=rng).variant_id for _ in range(60)}) == 3


def test_rules_slots_still_take_the_first_match():
    slot = _slot("RULES", b=("device", "mobile"))
    d = decide(slot, Context.build(device="mobile"), allocation={"c": 1.0}, unit="v1")
    assert (d.variant_id, d.policy, d.probability, d.bucket) == ("a", "RULES", 1.0, "*")


# -- context buckets ---------------------------------------------------------------------------------


def _contextual(**options):
    return _slot("CONTEXTUAL", {"split_by": ["segment"], **options})


def test_context_keys_one_per_split_attribute():
    slot = _slot("CONTEXTUAL", {"split_by": ["segment", "device", "weather.condition"]})
    ctx = Context.build(segments=["vip"], device="Mobile", weather={"condition": "rain"})
    assert context_keys(slot, ctx) == ("segment=vip", "device=mobile", "weather.condition=rain")
    assert context_keys(slot, Context.build()) == ("segment=?", "device=?", "weather.condition=?")


def test_segment_bucket_follows_the_editors_order_then_none():
    slot = _contextual(segments=["vip", "returning"])
    assert attribute_value("segment", Context.build(segments=["returning", "vip"]), slot.options) == "vip"
    assert attribute_value("segment", Context.build(segments=["other"]), slot.options) == "(none)"
    assert attribute_value("segment", Context.build(segments=["b", "a"])) == "a"


def test_daypart_and_weekday_use_the_visitors_clock():
    now = datetime(2026, 3, 7, 12, 30, tzinfo=UTC)  # a Saturday; 21:30 in Seoul
    ctx = Context.build(now=now, timezone="Asia/Seoul")
    assert attribute_value("daypart", ctx) == "evening"
    assert attribute_value("weekday", ctx) == "weekend"
    assert attribute_value("daypart", Context.build(now=now)) == "?"


def test_split_by_defaults_to_segment_and_refuses_reserved_names():
    assert split_attributes(_slot("CONTEXTUAL")) == ("segment",)
    assert split_attributes(_slot("CONTEXTUAL", {"split_by": "device"})) == ("device",)
    with pytest.raises(ValueError):
        split_attributes(_slot("CONTEXTUAL", {"split_by": ["a=b"]}))


def test_bucket_for_falls_back_to_slot_wide_until_the_bucket_is_published():
    slot = _contextual()
    ctx = Context.build(segments=["vip"])
    assert bucket_for(slot, ctx) == "segment=vip"
    assert bucket_for(slot, ctx, {"*": {}}) == "*"
    assert bucket_for(slot, ctx, {"*": {}, "segment=vip": {}}) == "segment=vip"
    assert bucket_for(_slot("BANDIT"), ctx) == "*"


def test_contextual_decision_records_its_bucket_and_where_to_count_events():
    slot = _contextual()
    ctx = Context.build(segments=["vip"])
    allocations = {"*": {"a": 0.9, "b": 0.05, "c": 0.05}, "segment=vip": {"a": 0.02, "b": 0.02, "c": 0.96}}
    bucket, allocation = allocation_for(slot, ctx, allocations)
    d = decide(slot, ctx, allocation=allocation, bucket=bucket, unit="v1")
    assert d.bucket == "segment=vip"
    assert d.stats_buckets == ("*", "segment=vip")
    assert d.probability == pytest.approx(allocation[d.variant_id])
    assert d.reasons[-1] == "Audience: segment vip"
    assert {"segments", UNIT_FACT} <= d.facts


def test_contextual_decision_in_a_thin_bucket_uses_slot_wide_weights():
    slot = _contextual()
    ctx = Context.build(segments=["new"])
    bucket, allocation = allocation_for(slot, ctx, {"*": {"a": 1.0, "b": 0.0, "c": 0.0}})
    d = decide(slot, ctx, allocation=allocation, bucket=bucket, unit="v1")
    assert (d.variant_id, d.bucket, d.stats_buckets) == ("a", "*", ("*", "segment=new"))
    assert d.reasons[-1] == "Audience: all visitors (segment new: still learning)"
