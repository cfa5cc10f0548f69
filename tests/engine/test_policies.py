"""The learning policies: one contract for all of them, then each policy's own behaviour."""

from __future__ import annotations

import ast
import inspect
import json
import math
import random
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.engine import Context, i18n
from variants.engine import policies
from variants.engine.decide import Slot, Variant
from variants.engine.policies import (
    ALGORITHM_CLASSES,
    BANDIT_OPTIONS,
    UCB1,
    AllocationTable,
    ContextualBandit,
    EpsilonGreedy,
    FixedSplit,
    PolicyError,
    ThompsonSampling,
    make_bandit,
    make_policy,
    policy_from_state,
)
from variants.engine.stats_store import ArmStats
from variants.engine.vocabulary import ALGORITHMS

ROOT = Path(__file__).resolve().parents[2]
ARMS = ["a", "b", "c"]

POLICY_FACTORIES = {
    "fixed_split": lambda seed=None: FixedSplit({"a": 2.0, "b": 1.0}, seed=seed),
    "thompson": lambda seed=None: ThompsonSampling(seed=seed, draws=2000),
    "thompson_textbook": lambda seed=None: ThompsonSampling(temperature=1.0, draws=2000, seed=seed),
    "top_two": lambda seed=None: ThompsonSampling(top_two=0.5, draws=2000, seed=seed),
    "thompson_forgetting": lambda seed=None: ThompsonSampling(half_life=50, draws=2000, seed=seed),
    "ucb1": lambda seed=None: UCB1(seed=seed),
    "ucb1_forgetting": lambda seed=None: UCB1(half_life=50, seed=seed),
    "epsilon_greedy": lambda seed=None: EpsilonGreedy(epsilon=0.2, seed=seed),
    "contextual": lambda seed=None: ContextualBandit(
        {"algorithm": "thompson", "draws": 2000}, min_impressions=5, split_by=["segment"], seed=seed
    ),
}


@pytest.fixture(params=sorted(POLICY_FACTORIES))
def make(request):
    return POLICY_FACTORIES[request.param]


def feed(policy, n=120, seed=7, buckets=("*", "segment=x", "segment=y")):
    """Train `policy` one visitor at a time on arms with different rates; returns the pulls."""
    rng = random.Random(seed)
    rates = {"a": 0.6, "b": 0.3, "c": 0.1}
    pulls = []
    for _ in range(n):
        bucket = rng.choice(buckets)
        arm = policy.pull(ARMS, bucket)
        pulls.append(arm)
        assert policy.update(arm, float(rng.random() < rates[arm]), bucket) is policy
    return pulls


SNAPSHOT = {
    "*": {"a": ArmStats(400, 10, 40), "b": ArmStats(300, 5, 12), "c": ArmStats(20, 0, 1)},
    "segment=x": {"a": ArmStats(200, 5, 30), "b": ArmStats(150, 2, 2), "c": ArmStats(10, 0, 1)},
    "segment=y": {"a": ArmStats(200, 5, 10), "b": ArmStats(150, 3, 10), "c": ArmStats(10)},
}


# -- the contract every policy meets ---------------------------------------------------------------


def test_update_returns_the_policy(make):
    policy = make(seed=1)
    assert policy.update("a", 1.0) is policy
    assert policy.update("b", 0.0, "segment=x") is policy


def test_pull_returns_one_of_the_offered_arms(make):
    policy = make(seed=1)
    assert set(feed(policy)) <= set(ARMS)
    assert policy.pull(["b"]) == "b"


def test_state_round_trips_through_json_and_the_copy_continues_identically(make):
    policy = make(seed=3)
    feed(policy)
    state = json.loads(json.dumps(policy.to_state()))
    copy = policy_from_state(state)
    assert type(copy) is type(policy)
    assert copy.to_state() == policy.to_state()
    assert copy.params() == policy.params()
    assert feed(copy, 40, seed=9) == feed(policy, 40, seed=9)
    assert copy.weights(ARMS) == policy.weights(ARMS)
    assert copy.allocate(ARMS, SNAPSHOT) == policy.allocate(ARMS, SNAPSHOT)


def test_from_state_refuses_another_policys_state(make):
    state = make(seed=1).to_state()
    other = FixedSplit if state["policy"] != FixedSplit.kind else UCB1
    with pytest.raises(ValueError):
        other.from_state(state)
    with pytest.raises(ValueError):
        policy_from_state({"policy": "nope"})


def test_seeded_policies_make_identical_choices(make):
    first, second = make(seed=42), make(seed=42)
    assert feed(first) == feed(second)
    assert first.to_state() == second.to_state()
    assert first.weights(ARMS) == second.weights(ARMS)


def test_learning_never_changes_hyperparameters(make):
    policy = make(seed=5)
    before = policy.params()
    feed(policy)
    policy.allocate(ARMS, SNAPSHOT)
    assert policy.params() == before
    assert json.loads(json.dumps(before)) == before


def test_clone_has_the_same_hyperparameters_and_nothing_learned(make):
    policy = make(seed=5)
    feed(policy)
    fresh = policy.clone()
    assert fresh.params() == policy.params()
    assert fresh.to_state() == make(seed=5).to_state()


def test_weights_cover_exactly_the_given_arms_sum_to_one_and_respect_the_floor(make):
    policy = make(seed=2)
    feed(policy)
    arms = ["c", "a", "new-arm"]
    for weights in (policy.weights(arms), policy.weights(arms, SNAPSHOT["*"])):
        assert list(weights) == arms
        assert math.isclose(sum(weights.values()), 1.0)
        assert min(weights.values()) >= policy.min_weight_share / len(arms) - 1e-12
    assert policy.weights([]) == {}


def test_weights_from_the_same_stats_are_the_same_on_every_server(make):
    # two processes, no seed configured: they must publish the same weights from the same snapshot
    one, two = make(), make()
    assert one.allocate(ARMS, SNAPSHOT) == two.allocate(ARMS, SNAPSHOT)


def test_allocate_publishes_slot_wide_weights(make):
    allocations = make(seed=1).allocate(ARMS, SNAPSHOT)
    assert set(allocations["*"]) == set(ARMS)
    for weights in allocations.values():
        assert math.isclose(sum(weights.values()), 1.0)


def test_allocate_with_no_stats_yet_is_well_defined(make):
    allocations = make(seed=1).allocate(ARMS, {})
    assert math.isclose(sum(allocations["*"].values()), 1.0)


def test_rewards_outside_zero_one_are_refused(make):
    with pytest.raises(ValueError):
        make(seed=1).update("a", 2.0)


@settings(max_examples=40, deadline=None)
@given(
    counts=st.dictionaries(
        st.sampled_from(["a", "b", "c", "d"]),
        st.tuples(st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 10**6)),
        max_size=4,
    ),
    name=st.sampled_from(sorted(POLICY_FACTORIES)),
)
def test_weights_are_a_distribution_for_any_stats(counts, name):
    # clicks and conversions may exceed impressions (lost impression beacons); weights stay sane
    stats = {arm: ArmStats(i, c, v) for arm, (i, c, v) in counts.items()}
    policy = POLICY_FACTORIES[name](seed=0)
    weights = policy.allocate(["a", "b", "c", "d"], {"*": stats, "segment=x": stats})
    for w in weights.values():
        assert math.isclose(sum(w.values()), 1.0)
        assert all(x >= policy.min_weight_share / 4 - 1e-12 for x in w.values())


# -- each policy -----------------------------------------------------------------------------------


def test_fixed_split_follows_the_configured_weights_and_unlisted_arms_weigh_one():
    assert FixedSplit({"a": 3, "b": 1}).weights(["a", "b", "c"]) == {"a": 0.6, "b": 0.2, "c": 0.2}
    assert FixedSplit({"a": 0, "b": 0}).weights(["a", "b"]) == {"a": 0.5, "b": 0.5}
    with pytest.raises(PolicyError):
        FixedSplit({"a": -1})


def test_fixed_split_pulls_in_proportion():
    policy = FixedSplit({"a": 3, "b": 1}, seed=1)
    pulls = [policy.pull(["a", "b"]) for _ in range(4000)]
    assert 0.72 < pulls.count("a") / 4000 < 0.78


def test_thompson_weights_are_the_probability_each_arm_is_best():
    policy = ThompsonSampling(temperature=1.0, floor=0.0)
    clear = policy.weights(["a", "b"], {"a": ArmStats(1000, 0, 100), "b": ArmStats(1000, 0, 50)})
    assert clear["a"] > 0.999
    even = policy.weights(["a", "b"], {"a": ArmStats(1000, 0, 50), "b": ArmStats(1000, 0, 50)})
    assert abs(even["a"] - 0.5) < 0.03
    # 10 vs 12 conversions in 300: close to a coin flip, leaning to b
    close = policy.weights(["a", "b"], {"a": ArmStats(300, 0, 10), "b": ArmStats(300, 0, 12)})
    assert 0.55 < close["b"] < 0.85


def test_thompson_floor_keeps_exploring_a_hopeless_arm():
    weights = ThompsonSampling(floor=0.05).weights(["a", "b"], {"a": ArmStats(10**5, 0, 10**4), "b": ArmStats(10**5)})
    assert weights["b"] == pytest.approx(0.025)


def test_a_lower_temperature_narrows_the_posterior():
    stats = {"a": ArmStats(300, 0, 10), "b": ArmStats(300, 0, 14)}
    textbook = ThompsonSampling(temperature=1.0, floor=0).weights(["a", "b"], stats)
    narrow = ThompsonSampling(temperature=0.5, floor=0).weights(["a", "b"], stats)
    assert narrow["b"] > textbook["b"] > 0.5


def test_top_two_gives_the_challenger_more_traffic():
    stats = {"a": ArmStats(2000, 0, 100), "b": ArmStats(2000, 0, 80), "c": ArmStats(2000, 0, 20)}
    plain = ThompsonSampling(floor=0).weights(["a", "b", "c"], stats)
    top_two = ThompsonSampling(top_two=0.5, floor=0).weights(["a", "b", "c"], stats)
    assert top_two["b"] > plain["b"]
    assert top_two["a"] == pytest.approx(0.5, abs=0.05)  # the leader is (almost surely) played half the time


def test_thompson_learns_the_best_arm_one_visitor_at_a_time():
    policy = ThompsonSampling(seed=3)
    pulls = feed(policy, n=600, buckets=("*",))
    assert pulls[-200:].count("a") > 150


def test_ucb1_tries_every_arm_first_then_plays_the_highest_bound():
    policy = UCB1(floor=0)
    assert policy.weights(["a", "b", "c"], {"a": ArmStats(10, 0, 1)}) == {"a": 0.0, "b": 0.5, "c": 0.5}
    stats = {"a": ArmStats(1000, 0, 500), "b": ArmStats(1000, 0, 100), "c": ArmStats(1000, 0, 100)}
    assert policy.weights(["a", "b", "c"], stats) == {"a": 1.0, "b": 0.0, "c": 0.0}
    # a rarely tried arm's wide bound beats a better-known, better mean
    assert policy.weights(["a", "b"], {"a": ArmStats(10_000, 0, 500), "b": ArmStats(5, 0, 0)})["b"] == 1.0


def test_epsilon_greedy_gives_epsilon_to_exploration_and_the_rest_to_the_best_mean():
    policy = EpsilonGreedy(epsilon=0.3, floor=0)
    weights = policy.weights(
        ["a", "b", "c"], {"a": ArmStats(100, 0, 5), "b": ArmStats(100, 0, 9), "c": ArmStats(100, 0, 1)}
    )
    assert weights == pytest.approx({"a": 0.1, "b": 0.8, "c": 0.1})
    # an untried arm counts as best until tried
    assert policy.weights(["a", "z"], {"a": ArmStats(100, 0, 90)})["z"] == pytest.approx(0.85)


def test_reward_can_be_clicks():
    policy = ThompsonSampling(reward="click", floor=0)
    weights = policy.weights(["a", "b"], {"a": ArmStats(500, 100, 0), "b": ArmStats(500, 10, 50)})
    assert weights["a"] > 0.99


#: one bad value of every option a policy checks
BAD_OPTIONS = {
    "floor": lambda: ThompsonSampling(floor=2),
    "half_life": lambda: ThompsonSampling(half_life=0),
    "reward": lambda: ThompsonSampling(reward="value"),
    "top_two": lambda: ThompsonSampling(top_two=1.0),
    "temperature": lambda: ThompsonSampling(temperature=0),
    "draws": lambda: ThompsonSampling(draws=5),
    "prior_alpha": lambda: ThompsonSampling(prior_alpha=0),
    "seed": lambda: ThompsonSampling(seed="x"),
    "weights": lambda: FixedSplit({"a": math.inf}),
    "c": lambda: UCB1(c=-1),
    "epsilon": lambda: EpsilonGreedy(epsilon=1.5),
    "min_impressions": lambda: ContextualBandit(min_impressions=-1),
    "max_buckets": lambda: ContextualBandit(max_buckets=0),
    "algorithm": lambda: ContextualBandit({"algorithm": "nope"}),
    "option_of_another_algorithm": lambda: make_bandit("thompson", epsilon=0.1),
}


@pytest.mark.parametrize("factory", BAD_OPTIONS.values(), ids=list(BAD_OPTIONS))
def test_bad_hyperparameters_are_refused_with_the_field_named(factory):
    with pytest.raises(PolicyError) as info:
        factory()
    assert info.value.field


@pytest.mark.parametrize("factory", BAD_OPTIONS.values(), ids=list(BAD_OPTIONS))
def test_option_errors_are_translated_from_a_fixed_message_with_named_placeholders(factory, monkeypatch):
    # editors read these at the block's learning options, in their own language
    asked = []

    def translate(message):
        asked.append(message)
        return f"«{message}»"

    monkeypatch.setattr(i18n, "_translator", translate)
    with pytest.raises(PolicyError) as info:
        factory()
    assert len(asked) == 1 and "%(" in asked[0]  # a catalogue msgid, not a message with the value in it
    assert info.value.message.startswith("«") and info.value.message.endswith("»")
    assert "%(" not in info.value.message
    assert str(info.value) == f"{info.value.field}: {info.value.message}"


def test_an_unknown_algorithm_error_names_the_known_ones(monkeypatch):
    monkeypatch.setattr(i18n, "_translator", None)  # as written, whatever language the suite runs in
    with pytest.raises(PolicyError) as info:
        make_bandit("softmax")
    assert info.value.field == "algorithm"
    assert info.value.message == "unknown algorithm 'softmax' (known: thompson, top_two, ucb1, epsilon_greedy)"


# -- the algorithms the vocabulary names -----------------------------------------------------------


def test_every_algorithm_in_the_vocabulary_has_a_class_and_no_class_is_unnamed():
    assert set(ALGORITHM_CLASSES) == set(ALGORITHMS)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_make_bandit_builds_every_algorithm_of_the_vocabulary(algorithm):
    cls, preset = ALGORITHM_CLASSES[algorithm]
    for spelling in (algorithm, algorithm.upper().replace("_", "-")):
        bandit = make_bandit(spelling, seed=1)
        assert type(bandit) is cls
        assert {name: getattr(bandit, name) for name in preset} == preset
        assert math.isclose(sum(bandit.weights(ARMS, SNAPSHOT["*"]).values()), 1.0)


def test_bandit_options_are_exactly_the_algorithms_hyperparameters():
    # a slot option no algorithm takes is dropped silently; a hyperparameter missing here cannot be set
    hyperparameters = {p for cls, _ in ALGORITHM_CLASSES.values() for p in inspect.signature(cls).parameters}
    assert set(BANDIT_OPTIONS) == hyperparameters - {"seed"} | {"algorithm"}


# -- forgetting ------------------------------------------------------------------------------------


def test_observe_without_forgetting_takes_the_cumulative_counts():
    policy = ThompsonSampling()
    policy.observe({"a": ArmStats(100, 0, 10)}).observe({"a": ArmStats(300, 0, 10)})
    assert policy.n_ == {"a": 300.0} and policy.s_ == {"a": 10.0}


def test_observe_with_a_half_life_discounts_by_the_impressions_between_snapshots():
    policy = ThompsonSampling(half_life=100)
    policy.observe({"a": ArmStats(100, 0, 10)})
    assert policy.n_ == {"a": 100.0} and policy.s_ == {"a": 10.0}
    # 100 more impressions (one half-life): the old evidence counts half
    policy.observe({"a": ArmStats(150, 0, 10), "b": ArmStats(50, 0, 5)})
    assert policy.n_ == pytest.approx({"a": 100.0, "b": 50.0})
    assert policy.s_ == pytest.approx({"a": 5.0, "b": 5.0})
    # the same snapshot again: nothing happened, nothing is forgotten
    policy.observe({"a": ArmStats(150, 0, 10), "b": ArmStats(50, 0, 5)})
    assert policy.n_ == pytest.approx({"a": 100.0, "b": 50.0})


def test_old_evidence_fades_by_impressions_whatever_the_refresh_interval():
    once, often = ThompsonSampling(half_life=100), ThompsonSampling(half_life=100)
    for policy in (once, often):
        policy.observe({"a": ArmStats(1000, 0, 100)})
    once.observe({"a": ArmStats(1200, 0, 100)})
    for n in range(1010, 1201, 10):
        often.observe({"a": ArmStats(n, 0, 100)})
    # two half-lives of traffic later, the 100 old conversions count a quarter either way
    assert once.s_["a"] == pytest.approx(25.0)
    assert often.s_["a"] == pytest.approx(25.0)


def test_a_reset_of_the_stats_starts_learning_over():
    policy = UCB1(half_life=100)
    policy.observe({"a": ArmStats(500, 0, 50)})
    policy.observe({"a": ArmStats(10, 0, 0)})
    assert policy.n_ == {"a": 10.0} and policy.s_ == {"a": 0.0}


def test_update_with_a_half_life_discounts_every_arm():
    policy = EpsilonGreedy(half_life=1)
    policy.update("a", 1).update("b", 0)
    assert policy.n_ == {"a": 0.5, "b": 1.0} and policy.s_ == {"a": 0.5, "b": 0.0}


def test_forgetting_lets_weights_follow_a_change_of_best_arm():
    def shares(policy):
        policy.observe({"a": ArmStats(0), "b": ArmStats(0)})
        a, b = 20_000, 20_000
        conv_a, conv_b = 1_000, 600  # a converts at 5%, b at 3%
        for _ in range(5):  # now a drops to 2% and b rises to 6%: 1,000 impressions each per refresh
            a, b, conv_a, conv_b = a + 1000, b + 1000, conv_a + 20, conv_b + 60
            weights = policy.weights(["a", "b"], {"a": ArmStats(a, 0, conv_a), "b": ArmStats(b, 0, conv_b)})
        return weights["b"]

    assert shares(ThompsonSampling(half_life=2000)) > 0.95
    assert shares(ThompsonSampling()) < 0.05


# -- contextual ------------------------------------------------------------------------------------


def _bucketed(best_x: str, best_y: str, n: int) -> dict:
    def arms(best):
        return {a: ArmStats(n, 0, n // 10 if a == best else n // 50) for a in ARMS}

    x, y = arms(best_x), arms(best_y)
    return {"*": {a: x[a] + y[a] for a in ARMS}, "segment=x": x, "segment=y": y}


def test_contextual_publishes_a_bucket_only_once_it_has_enough_impressions():
    policy = ContextualBandit(min_impressions=300, split_by=["segment"])
    thin = policy.allocate(ARMS, _bucketed("a", "b", 50))  # 150 impressions per bucket
    assert set(thin) == {"*"}
    rich = policy.allocate(ARMS, _bucketed("a", "b", 200))
    assert set(rich) == {"*", "segment=x", "segment=y"}
    assert rich["segment=x"]["a"] > 0.9 and rich["segment=y"]["b"] > 0.9


def test_contextual_pull_uses_the_bucket_once_it_has_learned_enough():
    policy = ContextualBandit(min_impressions=50, seed=1)
    for _ in range(60):
        policy.update("b", 1.0, "segment=x")
        policy.update("a", 0.0, "segment=x")
        policy.update("a", 1.0, "segment=y")
        policy.update("b", 0.0, "segment=y")
    assert [policy.pull(["a", "b"], "segment=x") for _ in range(20)].count("b") >= 18
    assert [policy.pull(["a", "b"], "segment=y") for _ in range(20)].count("a") >= 18


def test_contextual_learns_which_attribute_to_split_by():
    # device decides which arm is best; country is noise
    stats: dict[str, dict[str, ArmStats]] = {"*": {}}
    for device, best in (("mobile", "a"), ("desktop", "b")):
        for country in ("kr", "fr"):
            for arm in ARMS:
                s = ArmStats(500, 0, 60 if arm == best else 15)
                stats.setdefault(f"device={device}", {})
                stats.setdefault(f"country={country}", {})
                for bucket in ("*", f"device={device}", f"country={country}"):
                    stats[bucket][arm] = stats[bucket].get(arm, ArmStats()) + s
    policy = ContextualBandit(split_by=["country", "device"])
    allocations = policy.allocate(ARMS, stats)
    assert policy.split_ == "device"
    assert policy.gains_["device"] > policy.gains_["country"]
    assert set(allocations) == {"*", "device=mobile", "device=desktop"}


def test_contextual_drops_buckets_that_disappeared_from_the_stats():
    policy = ContextualBandit(min_impressions=10)
    policy.allocate(ARMS, _bucketed("a", "b", 100))
    assert set(policy.policies_) == {"*", "segment=x", "segment=y"}
    policy.allocate(ARMS, {})
    assert set(policy.policies_) == {"*"}


# -- slots and the per-process table --------------------------------------------------------------


def _slot(policy="BANDIT", **options):
    return Slot("slot-1", "Hero", (Variant("a", "A", weight=3.0), Variant("b", "B")), policy, options)


def test_make_policy_builds_the_slots_policy_from_its_options():
    assert make_policy(_slot("RULES")) is None
    ab = make_policy(_slot("AB"))
    assert isinstance(ab, FixedSplit) and ab.weights(["a", "b"]) == {"a": 0.75, "b": 0.25}
    assert isinstance(make_policy(_slot()), ThompsonSampling)
    ucb = make_policy(_slot(algorithm="ucb1", c=0.5, floor=0.02, seed=4))
    assert isinstance(ucb, UCB1) and (ucb.c, ucb.floor, ucb.seed) == (0.5, 0.02, 4)
    top_two = make_policy(_slot(algorithm="top_two"))
    assert isinstance(top_two, ThompsonSampling) and top_two.top_two == 0.5
    contextual = make_policy(_slot("CONTEXTUAL", split_by=["device"], min_impressions=50, half_life=500))
    assert isinstance(contextual, ContextualBandit)
    assert contextual.split_by == ["device"] and contextual.min_impressions == 50
    assert contextual.bandit == {"algorithm": "thompson", "half_life": 500}


def test_make_policy_refuses_options_that_do_not_fit_the_algorithm():
    with pytest.raises(PolicyError) as info:
        make_policy(_slot(algorithm="thompson", epsilon=0.2))
    assert info.value.field == "epsilon"
    with pytest.raises(PolicyError):
        make_policy(_slot(algorithm="softmax"))


def test_allocation_table_publishes_weights_on_refresh_and_decides_without_io():
    table = AllocationTable()
    slot = _slot(seed=1)
    ctx = Context.build()
    assert table.decide(slot, ctx, unit="v1").reasons[-1].startswith("Exploring")  # before any refresh
    table.refresh([slot, _slot("RULES")], {"slot-1": {"*": {"a": ArmStats(5000, 0, 500), "b": ArmStats(5000, 0, 100)}}})
    weights = table.allocations("slot-1")["*"]
    assert weights["a"] > 0.99
    decision = table.decide(slot, ctx, unit="v1")
    assert decision.probability == pytest.approx(weights[decision.variant_id])


def test_allocation_table_keeps_learned_state_until_the_slot_options_change():
    table = AllocationTable()
    slot = _slot(half_life=100)
    table.refresh([slot], {"slot-1": {"*": {"a": ArmStats(100, 0, 10)}}})
    policy = table.policy(slot.id)
    table.refresh([slot], {})
    assert table.policy(slot.id) is policy
    changed = _slot(half_life=200)
    table.refresh([changed], {})
    assert table.policy(changed.id) is not policy and table.policy(changed.id).half_life == 200


def test_allocation_table_state_survives_a_restart():
    table = AllocationTable()
    slot = _slot(half_life=100)
    snapshot = {"slot-1": {"*": {"a": ArmStats(300, 0, 30), "b": ArmStats(200, 0, 4)}}}
    table.refresh([slot], snapshot)
    restored = AllocationTable()
    restored.load_state(json.loads(json.dumps(table.to_state())))
    restored.refresh([slot], snapshot)
    table.refresh([slot], snapshot)
    assert restored.allocations("slot-1") == table.allocations("slot-1")


# -- the package layout ------------------------------------------------------------------------------

#: each module of the package may import only those before it (no cycles)
MODULE_ORDER = ["base", "counting", "bandits", "contextual_bandit", "factory", "table"]


def test_policy_modules_import_only_the_modules_before_them():
    package = Path(policies.__file__).parent
    modules = sorted(f.stem for f in package.glob("*.py") if f.stem != "__init__")
    assert modules == sorted(MODULE_ORDER), "place a new module in MODULE_ORDER"
    for name in MODULE_ORDER:
        tree = ast.parse((package / f"{name}.py").read_text())
        siblings = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 1}
        later = siblings - set(MODULE_ORDER[: MODULE_ORDER.index(name)])
        assert not later, f"{name} imports {sorted(later)}, which come after it"


def test_a_caller_importing_only_the_base_module_can_restore_every_policy():
    # the classes register themselves in base's registry; importing any module of the package runs its
    # __init__, which imports them all
    states = [p.to_state() for p in (FixedSplit(), ThompsonSampling(), UCB1(), EpsilonGreedy(), ContextualBandit())]
    code = (
        "import json, sys\n"
        "from variants.engine.policies.base import policy_from_state\n"
        "print(' '.join(type(policy_from_state(s)).__name__ for s in json.load(sys.stdin)))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, input=json.dumps(states), capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["FixedSplit", "ThompsonSampling", "UCB1", "EpsilonGreedy", "ContextualBandit"]
