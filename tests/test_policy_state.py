"""Forgetting survives a restart: a slot with a half-life keeps its discounted counts in the shared state.

Each test runs on the embedded default (the `PolicyState` table) and on Redis (`state_backend`).
"""

from __future__ import annotations

import io
import json
import os

import pytest
from django.core.management import call_command

from rules.engine import Context
from sample_site.home.demo import heading, learning_options, personalized, variant
from tailor.redis import get_redis
from tailor.settings import tailor_settings
from tests.services import CountingClient, require_redis
from variants import feedback as feedback_module
from variants.compiler import compile_slot, compiled_page
from variants.engine.policies import AllocationTable
from variants.engine.stats_store import Increment, RedisStatsStore
from variants.feedback import Feedback, forgets, policy_states, stats_store
from variants.models import PolicyState
from variants.policy_state import DatabasePolicyStates, RedisPolicyStates
from variants.services import personalize_page

HALF_LIFE = 100


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def _fresh_feedback():
    feedback_module.reset()
    yield
    feedback_module.reset()


def forgetting_slot(slot_id: str = "forgetting-slot", half_life: float | None = HALF_LIFE, policy: str = "BANDIT"):
    raw = personalized(
        "offer",
        [],
        [variant("offer", name, [], []) for name in ("A", "B")],
        policy=policy,
        options=learning_options("thompson", half_life=half_life),
    )["value"]
    return compile_slot(slot_id, raw)


def arm(slot, name: str) -> str:
    return next(v.id for v in slot.variants if v.name == name)


def add(store, slot, name: str, impressions: int, conversions: int) -> None:
    store.increment_many(
        [
            Increment(slot.id, arm(slot, name), "impression", impressions),
            Increment(slot.id, arm(slot, name), "conversion", conversions),
        ]
    )


def learn_a_change_of_winner(loop: Feedback, clock: Clock, slot) -> None:
    """ "A" converts best for a while, then "B" does: the discounted weights follow B, while the
    cumulative counts still favour A."""
    add(loop.store, slot, "A", 400, 80)
    add(loop.store, slot, "B", 400, 8)
    loop.ensure_fresh([slot])
    clock.now += 5
    add(loop.store, slot, "A", 200, 4)
    add(loop.store, slot, "B", 200, 40)
    loop.ensure_fresh([slot])


def best(weights: dict[str, float]) -> str:
    return max(weights, key=weights.get)


def test_only_bandits_with_a_half_life_keep_state():
    assert forgets(forgetting_slot())
    assert forgets(forgetting_slot(policy="CONTEXTUAL"))
    assert not forgets(forgetting_slot(half_life=None))
    assert not forgets(forgetting_slot(policy="AB"))


def test_a_restarted_process_resumes_the_discounted_weights(state_backend, db):
    slot = forgetting_slot()
    clock = Clock()
    before_restart = Feedback(clock=clock)
    learn_a_change_of_winner(before_restart, clock, slot)
    before = before_restart.allocations(slot.id)
    assert best(before["*"]) == arm(slot, "B")

    restarted = Feedback(clock=Clock())  # a new process: an empty table, the same shared state
    restarted.ensure_fresh([slot])

    assert restarted.allocations(slot.id) == before
    assert restarted.stats.states_loaded == 1 and restarted.stats.failures == 0
    # what a process without the saved state computes: the cumulative counts, which favour A
    fresh = AllocationTable()
    fresh.refresh([slot], stats_store().snapshot([slot.id]))
    assert fresh.allocations(slot.id) != before
    assert best(fresh.allocations(slot.id)["*"]) == arm(slot, "A")


def test_the_restarted_process_keeps_discounting_from_where_it_was(state_backend, db):
    slot = forgetting_slot()
    clock = Clock()
    first = Feedback(clock=clock)
    learn_a_change_of_winner(first, clock, slot)

    restarted_clock = Clock()
    restarted = Feedback(clock=restarted_clock)
    restarted.ensure_fresh([slot])
    # more results, seen by both the process that kept running and the restarted one
    add(stats_store(), slot, "A", 50, 1)
    add(stats_store(), slot, "B", 50, 10)
    clock.now += 5
    restarted_clock.now += 5
    first.ensure_fresh([slot])
    restarted.ensure_fresh([slot])

    assert restarted.allocations(slot.id) == first.allocations(slot.id)
    assert restarted.table.policy(slot.id).to_state() == first.table.policy(slot.id).to_state()


def test_a_state_is_saved_only_when_it_changed(state_backend, db):
    slot = forgetting_slot()
    clock = Clock()
    loop = Feedback(clock=clock)
    add(loop.store, slot, "A", 10, 1)
    loop.ensure_fresh([slot])
    assert loop.stats.state_saves == 1

    clock.now += 5
    loop.ensure_fresh([slot])  # nothing new
    assert loop.stats.state_saves == 1

    add(loop.store, slot, "B", 10, 2)
    clock.now += 5
    loop.ensure_fresh([slot])
    assert loop.stats.state_saves == 2
    saved = policy_states().load([slot.id])[slot.id]
    assert saved == loop.table.to_state()[slot.id]


def test_slots_without_a_half_life_keep_nothing(state_backend, db):
    slot = forgetting_slot(half_life=None)
    loop = Feedback(clock=Clock())
    add(loop.store, slot, "A", 10, 1)

    loop.ensure_fresh([slot])

    assert loop.allocations(slot.id) is not None
    assert policy_states().load([slot.id]) == {}
    assert loop.stats.state_saves == 0


def test_a_slot_whose_options_changed_starts_from_its_stats(state_backend, db):
    slot = forgetting_slot()
    clock = Clock()
    learn_a_change_of_winner(Feedback(clock=clock), clock, slot)
    edited = forgetting_slot(half_life=HALF_LIFE * 4)  # the editor changed the half-life meanwhile

    restarted = Feedback(clock=Clock())
    restarted.ensure_fresh([edited])

    fresh = AllocationTable()
    fresh.refresh([edited], stats_store().snapshot([edited.id]))
    assert restarted.allocations(edited.id) == fresh.allocations(edited.id)


def test_an_unreadable_saved_state_is_ignored(state_backend, db):
    slot = forgetting_slot()
    policy_states().save({slot.id: {"fingerprint": "?", "policy": {"policy": "no-such-policy"}}})
    add(stats_store(), slot, "A", 10, 1)
    loop = Feedback(clock=Clock())

    loop.ensure_fresh([slot])

    fresh = AllocationTable()
    fresh.refresh([slot], stats_store().snapshot([slot.id]))
    assert loop.allocations(slot.id) == fresh.allocations(slot.id)
    assert loop.stats.failures == 0 and loop.stats.states_loaded == 0


class Unreachable(DatabasePolicyStates):
    def __init__(self):
        super().__init__()
        self.down = True
        self.saves = 0

    def load(self, slot_ids):
        if self.down:
            raise ConnectionError("state store down")
        return super().load(slot_ids)

    def save(self, entries):
        self.saves += 1
        return super().save(entries)


def test_when_the_saved_state_cannot_be_read_the_refresh_waits_instead_of_overwriting_it(db):
    slot = forgetting_slot()
    clock = Clock()
    learn_a_change_of_winner(Feedback(clock=clock), clock, slot)
    saved = policy_states().load([slot.id])
    states = Unreachable()
    restarted_clock = Clock()
    restarted = Feedback(states=states, clock=restarted_clock)

    restarted.ensure_fresh([slot])

    assert restarted.stats.failures == 1 and restarted.allocations(slot.id) is None  # an even split meanwhile
    assert states.saves == 0 and policy_states().load([slot.id]) == saved
    states.down = False
    restarted_clock.now += 5
    restarted.ensure_fresh([slot])
    assert best(restarted.allocations(slot.id)["*"]) == arm(slot, "B")


def test_a_failed_save_still_publishes_the_weights(db, monkeypatch):
    slot = forgetting_slot()
    loop = Feedback(clock=Clock())
    add(loop.store, slot, "A", 10, 1)

    def down(self, entries):
        raise ConnectionError("state store down")

    monkeypatch.setattr(DatabasePolicyStates, "save", down)
    loop.ensure_fresh([slot])

    assert loop.allocations(slot.id) is not None
    assert loop.stats.failures == 0 and loop.stats.state_save_failures == 1


# --- no I/O while fresh ---------------------------------------------------------------------------


def test_redis_round_trips_only_in_refreshes(monkeypatch):
    counting = CountingClient(require_redis())
    prefix = f"tailor-test-ps-{os.getpid()}:"
    store = RedisStatsStore(counting, prefix=prefix)
    states = RedisPolicyStates(counting, prefix=prefix)
    slot = forgetting_slot()
    clock = Clock()
    loop = Feedback(store=store, states=states, clock=clock, refresh_seconds=5)
    try:
        add(RedisStatsStore(counting.client, prefix=prefix), slot, "A", 10, 1)
        loop.ensure_fresh([slot])
        assert counting.round_trips == 3  # the snapshot, the state saved before (none), the new state

        for _ in range(20):
            loop.ensure_fresh([slot])
            loop.allocation(slot, Context.build())
        assert counting.round_trips == 3

        clock.now += 5
        loop.ensure_fresh([slot])
        assert counting.round_trips == 4  # nothing new: the snapshot only

        add(RedisStatsStore(counting.client, prefix=prefix), slot, "B", 10, 3)
        clock.now += 5
        loop.ensure_fresh([slot])
        assert counting.round_trips == 6  # the snapshot and the changed state

        restarted = Feedback(store=store, states=states, clock=Clock(), refresh_seconds=5)
        restarted.ensure_fresh([slot])
        assert counting.round_trips == 8  # the snapshot and the saved state; unchanged, so no save
        assert restarted.allocations(slot.id) == loop.allocations(slot.id)
        raw = counting.client.get(f"{prefix}policy:{{{slot.id}}}")
        assert json.loads(raw) == loop.table.to_state()[slot.id]
    finally:
        for key in counting.client.scan_iter(match=prefix + "*"):
            counting.client.delete(key)


def test_deciding_a_forgetting_slot_between_refreshes_runs_no_query(make_page, django_assert_num_queries):
    page = make_page(
        "forget",
        personalized(
            "cta",
            [],
            [variant("forget", name, [heading(name, "forget", name)], []) for name in ("A", "B")],
            policy="BANDIT",
            options=learning_options("thompson", half_life=HALF_LIFE),
        ),
    )
    clock = Clock()
    loop = Feedback(clock=clock)
    ctx = Context.build()
    personalize_page(page, ctx, loop=loop)  # compiles, refreshes, saves the state
    slot = next(s for s in compiled_page(page).slots if s.name == "cta")
    assert PolicyState.objects.filter(slot_id=slot.id).exists()

    with django_assert_num_queries(0):
        for _ in range(20):
            personalize_page(page, ctx, loop=loop)


def test_a_traffic_simulation_with_forgetting_leaves_no_learned_state_behind(state_backend, db):
    call_command("tailor_traffic", "--visitors", "300", "--half-life", "100", stdout=io.StringIO())

    assert not PolicyState.objects.exists()
    if state_backend == "redis":
        assert list(get_redis().scan_iter(match=tailor_settings.REDIS_PREFIX + "*")) == []


def test_saving_a_slots_state_does_not_serialise_every_other_slots_policy(db, monkeypatch):
    slot, other = forgetting_slot(), forgetting_slot("other-slot", half_life=None)
    clock = Clock()
    loop = Feedback(clock=clock)
    add(loop.store, slot, "A", 10, 1)
    loop.ensure_fresh([slot, other])
    other_policy = loop.table.policy(other.id)
    serialised = []
    real = type(other_policy).to_state
    monkeypatch.setattr(type(other_policy), "to_state", lambda self: serialised.append(self) or real(self))

    add(loop.store, slot, "B", 10, 2)
    clock.now += 5
    loop.ensure_fresh([slot, other])

    assert loop.stats.state_saves == 2
    assert other_policy not in serialised and loop.table.policy(slot.id) in serialised
    assert policy_states().load([slot.id])[slot.id] == loop.table.to_state()[slot.id]
