"""The behaviour every `StatsStore` must have, as a reusable test mixin.

Use it for a new store by subclassing and providing a `store_factory` fixture:

    class TestDatabaseStatsStore(StatsStoreContract):
        concurrency = "processes"          # or "threads" when processes cannot share the backend

        @pytest.fixture
        def store_factory(self):
            # a zero-argument callable returning a store on the *same* backend (for "processes":
            # picklable, e.g. functools.partial of a module-level function)
            return functools.partial(make_my_store, "some-config")

The `store` fixture calls ``delete_all()`` before and after each test.
"""

from __future__ import annotations

import math
import multiprocessing
import threading

import pytest

from variants.engine.stats_store import ArmStats, Increment

SLOT = "0b8e6a0e-1111-4c55-9a7e-slot"
OTHER = "7f3c2d10-2222-4c55-9a7e-slot"


def write_concurrently(store_factory, slot_ids, rounds, start=None):
    """One writer's share of the concurrency test; mixes single and batched increments."""
    store = store_factory()
    if start is not None:
        start.wait(30)
    for i in range(rounds):
        slot = slot_ids[(i // 2) % len(slot_ids)]
        if i % 2:
            store.increment(slot, "a", "impression")
        else:
            store.increment_many(
                [
                    Increment(slot, "a", "impression"),
                    Increment(slot, "b", "conversion", 2, 0.5),
                    Increment(slot, "a", "impression", bucket="segment=vip"),
                ]
            )


def expected_totals(slot_ids, rounds, writers):
    """What `write_concurrently` adds up to, per slot."""
    totals = {s: {"a": 0, "a_vip": 0, "b": 0, "b_value": 0.0} for s in slot_ids}
    for i in range(rounds):
        t = totals[slot_ids[(i // 2) % len(slot_ids)]]
        t["a"] += writers
        if not i % 2:
            t["a_vip"] += writers
            t["b"] += 2 * writers
            t["b_value"] += 0.5 * writers
    return totals


class StatsStoreContract:
    #: "processes" (real separate processes, as app servers are) or "threads"
    concurrency = "processes"
    start_method = "spawn"
    writers = 4
    rounds = 300

    @pytest.fixture
    def store(self, store_factory):
        store = store_factory()
        store.delete_all()
        yield store
        store.delete_all()

    def test_snapshot_lists_every_requested_slot_even_without_stats(self, store):
        assert store.snapshot([SLOT, OTHER]) == {SLOT: {}, OTHER: {}}
        assert store.snapshot([]) == {}

    def test_increment_counts_each_kind_separately(self, store):
        store.increment(SLOT, "a", "impression")
        store.increment(SLOT, "a", "impression", n=2)
        store.increment(SLOT, "a", "click")
        store.increment(SLOT, "a", "conversion", value=12.5)
        assert store.snapshot([SLOT])[SLOT] == {"*": {"a": ArmStats(3, 1, 1, 12.5)}}

    def test_value_accumulates_as_a_float(self, store):
        for v in (0.25, 0.5, 1.75, -0.5):
            store.increment(SLOT, "a", "conversion", value=v)
        stats = store.snapshot([SLOT])[SLOT]["*"]["a"]
        assert stats.conversions == 4
        assert math.isclose(stats.value, 2.0)
        assert isinstance(stats.value, float) and isinstance(stats.conversions, int)

    def test_kind_is_case_insensitive(self, store):
        store.increment(SLOT, "a", "IMPRESSION")
        store.increment(SLOT, "a", "Conversion")
        assert store.snapshot([SLOT])[SLOT]["*"]["a"] == ArmStats(1, 0, 1, 0.0)

    def test_buckets_are_counted_separately_and_star_is_not_derived(self, store):
        store.increment(SLOT, "a", "impression", bucket="segment=vip")
        store.increment(SLOT, "a", "impression", bucket="device=mobile", n=3)
        snap = store.snapshot([SLOT])[SLOT]
        assert snap == {"segment=vip": {"a": ArmStats(1)}, "device=mobile": {"a": ArmStats(3)}}

    def test_increment_many_applies_every_increment(self, store):
        store.increment_many(
            [
                Increment(SLOT, "a", "impression"),
                Increment(SLOT, "a", "impression"),
                Increment(SLOT, "b", "impression", 5),
                Increment(SLOT, "b", "conversion", 1, 3.0),
                Increment(OTHER, "a", "click", bucket="segment=vip"),
            ]
        )
        assert store.snapshot([SLOT, OTHER]) == {
            SLOT: {"*": {"a": ArmStats(2), "b": ArmStats(5, 0, 1, 3.0)}},
            OTHER: {"segment=vip": {"a": ArmStats(0, 1)}},
        }

    def test_increment_many_accepts_plain_tuples_and_an_empty_batch(self, store):
        store.increment_many([])
        store.increment_many([(SLOT, "a", "impression", 2)])
        assert store.snapshot([SLOT])[SLOT] == {"*": {"a": ArmStats(2)}}

    def test_an_invalid_increment_in_a_batch_writes_nothing(self, store):
        with pytest.raises(ValueError):
            store.increment_many([Increment(SLOT, "a", "impression"), Increment(SLOT, "a", "purchase")])
        assert store.snapshot([SLOT]) == {SLOT: {}}

    @pytest.mark.parametrize(
        "args, kwargs",
        [
            ((SLOT, "a", "purchase"), {}),
            ((SLOT, "a", "impression"), {"n": -1}),
            ((SLOT, "a", "impression"), {"n": 1.5}),
            ((SLOT, "a", "impression"), {"n": True}),
            ((SLOT, "a", "impression"), {"value": float("nan")}),
            ((SLOT, "a", "impression"), {"value": float("inf")}),
            ((SLOT, "a|b", "impression"), {}),
            ((SLOT, "", "impression"), {}),
            ((SLOT, "a", "impression"), {"bucket": "x|y"}),
            ((SLOT, "a", "impression"), {"bucket": ""}),
            (("", "a", "impression"), {}),
            ((None, "a", "impression"), {}),
        ],
    )
    def test_invalid_increments_raise_value_error(self, store, args, kwargs):
        with pytest.raises(ValueError):
            store.increment(*args, **kwargs)
        assert store.snapshot([SLOT]) == {SLOT: {}}

    def test_a_zero_increment_creates_no_counter(self, store):
        store.increment(SLOT, "a", "impression", n=0)
        assert store.snapshot([SLOT]) == {SLOT: {}}

    def test_slots_are_isolated_and_reset_forgets_one_slot(self, store):
        store.increment(SLOT, "a", "impression")
        store.increment(SLOT, "a", "impression", bucket="segment=vip")
        store.increment(OTHER, "a", "impression")
        store.reset(SLOT)
        assert store.snapshot([SLOT, OTHER]) == {SLOT: {}, OTHER: {"*": {"a": ArmStats(1)}}}
        store.increment(SLOT, "a", "click")
        assert store.snapshot([SLOT])[SLOT] == {"*": {"a": ArmStats(0, 1)}}

    def test_reset_of_an_unknown_slot_is_harmless(self, store):
        store.reset("never-seen")

    def test_delete_all_forgets_everything(self, store):
        store.increment(SLOT, "a", "impression")
        store.increment(OTHER, "b", "impression")
        store.delete_all()
        assert store.snapshot([SLOT, OTHER]) == {SLOT: {}, OTHER: {}}

    def test_snapshot_is_a_copy(self, store):
        store.increment(SLOT, "a", "impression")
        snap = store.snapshot([SLOT])
        snap[SLOT]["*"]["a"] = ArmStats(99)
        snap[SLOT]["*"]["z"] = ArmStats(1)
        assert store.snapshot([SLOT])[SLOT] == {"*": {"a": ArmStats(1)}}

    @pytest.mark.parametrize("slot_id", ["{braces}", "a:b:c", "ünïcödé-slot", "with|pipe", "*", "x" * 200])
    def test_any_slot_id_works(self, store, slot_id):
        store.increment(slot_id, "a", "impression")
        assert store.snapshot([slot_id, SLOT]) == {slot_id: {"*": {"a": ArmStats(1)}}, SLOT: {}}
        store.reset(slot_id)
        assert store.snapshot([slot_id]) == {slot_id: {}}

    def test_slot_stats_is_one_slot_of_a_snapshot(self, store):
        store.increment(SLOT, "a", "impression")
        assert store.slot_stats(SLOT) == {"*": {"a": ArmStats(1)}}

    def test_concurrent_writers_count_exactly(self, store, store_factory):
        slot_ids = [SLOT, OTHER]
        if self.concurrency == "processes":
            mp = multiprocessing.get_context(self.start_method)
            start = mp.Event()
            workers = [
                mp.Process(target=write_concurrently, args=(store_factory, slot_ids, self.rounds, start))
                for _ in range(self.writers)
            ]
        else:
            start = threading.Event()
            workers = [
                threading.Thread(target=write_concurrently, args=(store_factory, slot_ids, self.rounds, start))
                for _ in range(self.writers)
            ]
        for w in workers:
            w.start()
        start.set()
        for w in workers:
            w.join(60)
        if self.concurrency == "processes":
            assert [w.exitcode for w in workers] == [0] * self.writers
        else:
            assert not any(w.is_alive() for w in workers)

        snap = store.snapshot(slot_ids)
        for slot_id, t in expected_totals(slot_ids, self.rounds, self.writers).items():
            assert snap[slot_id] == {
                "*": {"a": ArmStats(t["a"]), "b": ArmStats(0, 0, t["b"], t["b_value"])},
                "segment=vip": {"a": ArmStats(t["a_vip"])},
            }
