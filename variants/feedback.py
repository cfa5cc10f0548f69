"""The feedback loop's read side: which stats store, and each process's allocation weights.

The store: the database (`DatabaseStatsStore`), with or without `TAILOR["REDIS_URL"]`. The counts
are written in the transaction that logs the event and its durable dedupe mark
(`variants.event_log`), which is what makes an event count exactly once; Redis, which a restart
without persistence or a ``FLUSHDB`` empties, is trusted with none of it. Reading them costs one
query per process per STATS_REFRESH_SECONDS (`RedisStatsStore` remains in the engine for
simulations and for sites that build a `Feedback` on it themselves).

The weights: each process keeps one `Feedback` with an engine `AllocationTable`. Before deciding a
page, `ensure_fresh(slots)` looks at the page's learning slots (AB / BANDIT / CONTEXTUAL): when all
were refreshed less than `TAILOR["STATS_REFRESH_SECONDS"]` ago it does nothing (no I/O at all);
otherwise it reads the stale ones with **one** `snapshot` call (one pipelined Redis round trip, or one
SQL query) and lets their policies recompute the weights. A slot compiled anew (new revision) counts
as stale. Only one thread per process refreshes at a time; the others decide with the weights
already published rather than wait. A conversion recorded by any process therefore reaches every
process's weights within STATS_REFRESH_SECONDS (plus the time of one refresh).

With `TAILOR["REFRESH_IN_BACKGROUND"]` (the default) weights that are merely old are refreshed by a
thread of the process's own, woken by the request that found them old: that request decides with the
weights published and does not wait for the read and the posterior draws (a few milliseconds every
interval, which would otherwise land on one request in a few hundred: the tail of the latency). A
slot's first weights (a new process, a new revision) are read in the request, as without it.

If the store cannot be read, the last weights stay in use (or an even split before the first
refresh) and the next attempt waits for another refresh interval: a stats outage never fails a page.

Forgetting survives restarts. A slot with a ``half_life`` learns discounted counts that its
cumulative stats cannot give back, so a refresh of such slots also saves their policy state when it
changed (one more round trip: a pipeline, or one statement), and the first refresh of such a slot
in a process loads the state saved before (one round trip, once per slot and process): a restarted
process resumes the discounted weights (`variants.policy_state`). If the saved state cannot be read,
the refresh fails as above and is tried again after an interval, rather than start over from the
cumulative counts and overwrite what was learned; if it cannot be saved, the weights are published
anyway and the next refresh tries again. Slots without a half-life load and save nothing.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from django.db import close_old_connections

from tailor.redis import get_redis
from tailor.settings import on_reload, tailor_settings
from variants.engine.decide import WEIGHTED_POLICIES, Slot
from variants.engine.policies import AllocationTable, bandit_options
from variants.engine.stats_store import StatsStore
from variants.engine.vocabulary import LEARNING_POLICIES
from variants.policy_state import DatabasePolicyStates, Entry, PolicyStateStore, RedisPolicyStates
from variants.stats_db import DatabaseStatsStore

logger = logging.getLogger("tailor.feedback")

_store: StatsStore | None = None
_states: PolicyStateStore | None = None
_store_lock = threading.Lock()


def stats_store() -> StatsStore:
    """The process's stats store: the database, where counted events add to the arm stats in the
    same transaction as their dedupe mark (Redis or not; see the module docstring)."""
    global _store
    if _store is None:
        with _store_lock:
            if _store is None:
                _store = DatabaseStatsStore()
    return _store


def policy_states() -> PolicyStateStore:
    """Where the process keeps learned policy state between restarts (Redis, else the database)."""
    global _states
    if _states is None:
        with _store_lock:
            if _states is None:
                client = get_redis()
                if client is not None:
                    _states = RedisPolicyStates(client, prefix=tailor_settings.REDIS_PREFIX)
                else:
                    _states = DatabasePolicyStates()
    return _states


def forgets(slot: Slot) -> bool:
    """Whether `slot` learns discounted counts (a bandit with a ``half_life``): state worth keeping."""
    return slot.policy in LEARNING_POLICIES and bandit_options(slot.options or {}).get("half_life") is not None


def _canonical(entry: Entry) -> str:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"))


@dataclass
class RefreshStats:
    """What this process's refreshes cost so far (for benchmarks and the tests)."""

    refreshes: int = 0
    slots: int = 0
    failures: int = 0
    seconds: float = 0.0
    #: slots whose saved policy state was loaded; saves of changed policy states (and how many failed)
    states_loaded: int = 0
    state_saves: int = 0
    state_save_failures: int = 0


class Feedback:
    """One process's allocation weights, refreshed from the stats store at most every `refresh_seconds`.

    `store`, `states` (where policy state is kept between restarts) and `refresh_seconds` default to
    the settings (read on each use, so tests may change them); `clock` is monotonic seconds. `rng`
    draws for visitors without an identity.
    """

    def __init__(
        self,
        store: StatsStore | None = None,
        *,
        states: PolicyStateStore | None = None,
        refresh_seconds: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        background: bool = False,
    ):
        self._store = store
        self._states = states
        self._refresh_seconds = refresh_seconds
        self.clock = clock
        self.rng = rng or random.Random()
        self.table = AllocationTable()
        #: slot id -> (the compiled Slot refreshed, when)
        self._refreshed: dict[str, tuple[Slot, float]] = {}
        self._lock = threading.Lock()
        self.stats = RefreshStats()
        #: slot id -> the policy state last loaded or saved, as canonical JSON (to save only changes)
        self._kept: dict[str, str] = {}
        #: slot id -> (the compiled Slot, the table's fingerprint of it)
        self._fingerprints: dict[str, tuple[Slot, str]] = {}
        #: refresh old weights in a thread of their own (`refresh_later`)
        self.background = background
        self._pending: dict[str, Slot] = {}
        self._wake = threading.Condition()
        self._worker: threading.Thread | None = None

    @property
    def store(self) -> StatsStore:
        return self._store if self._store is not None else stats_store()

    @property
    def states(self) -> PolicyStateStore:
        return self._states if self._states is not None else policy_states()

    @property
    def refresh_seconds(self) -> float:
        if self._refresh_seconds is not None:
            return self._refresh_seconds
        return float(tailor_settings.STATS_REFRESH_SECONDS)

    def stale(self, slots: Iterable[Slot]) -> list[Slot]:
        """The learning slots among `slots` whose weights are older than the refresh interval."""
        now = self.clock()
        interval = self.refresh_seconds
        out = []
        for slot in slots:
            if slot.policy not in WEIGHTED_POLICIES:
                continue
            seen = self._refreshed.get(slot.id)
            if seen is None or seen[0] is not slot or now - seen[1] >= interval:
                out.append(slot)
        return out

    def ensure_fresh(self, slots: Iterable[Slot]) -> None:
        """Refresh the stale learning slots among `slots` (one store round trip), unless another
        thread of this process is already refreshing; in the background when they all have weights
        and `background` is on."""
        slots = list(slots)
        stale = self.stale(slots)
        if not stale:
            return
        if self.background and all(self._published(slot) for slot in stale):
            self.refresh_later(stale)
            return
        if not self._lock.acquire(blocking=False):
            return  # someone else is refreshing: decide with the weights already published
        try:
            stale = self.stale(slots)
            if stale:
                self._refresh(stale)
        finally:
            self._lock.release()

    def _published(self, slot: Slot) -> bool:
        seen = self._refreshed.get(slot.id)
        return seen is not None and seen[0] is slot

    def refresh_later(self, slots: Iterable[Slot]) -> None:
        """Hand `slots` to this process's refresh thread (started on first use) and return at once.
        They count as refreshed from now, so the requests that follow do not ask again meanwhile."""
        now = self.clock()
        with self._wake:
            for slot in slots:
                self._pending[slot.id] = slot
                self._refreshed[slot.id] = (slot, now)
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._refresh_loop, name="tailor-refresh", daemon=True)
                self._worker.start()
            self._wake.notify()

    def _refresh_loop(self) -> None:
        while True:
            with self._wake:
                while not self._pending:
                    self._wake.wait()
                slots, self._pending = list(self._pending.values()), {}
            # a thread of its own has database connections of its own: closed when obsolete or broken
            # (CONN_MAX_AGE), as Django does around a request
            close_old_connections()
            try:
                with self._lock:
                    self._refresh(slots)
            finally:
                close_old_connections()

    def refresh(self, slots: Iterable[Slot]) -> None:
        """Refresh `slots` now, whatever their age (the simulator; tests)."""
        slots = [s for s in slots if s.policy in WEIGHTED_POLICIES]
        if slots:
            with self._lock:
                self._refresh(slots)

    def _refresh(self, slots: list[Slot]) -> None:
        started = time.perf_counter()
        try:
            snapshot = self.store.snapshot([s.id for s in slots])
            forgetting = [s for s in slots if forgets(s)]
            self._resume([s for s in forgetting if self.table.policy(s.id) is None])
            self.table.refresh(slots, snapshot)
            if forgetting:
                self._keep(forgetting)
        except Exception:
            # Keep deciding with the last weights; try again after another interval, not per request.
            self.stats.failures += 1
            logger.warning("could not refresh arm stats for %d slot(s)", len(slots), exc_info=True)
        finally:
            now = self.clock()
            for slot in slots:
                self._refreshed[slot.id] = (slot, now)
            self.stats.refreshes += 1
            self.stats.slots += len(slots)
            self.stats.seconds += time.perf_counter() - started

    def _resume(self, slots: list[Slot]) -> None:
        """Load the saved policy state of slots this process has not learned yet (one round trip)."""
        if not slots:
            return
        for slot_id, entry in self.states.load([s.id for s in slots]).items():
            try:
                self.table.load_state({slot_id: entry})
            except (KeyError, TypeError, ValueError):
                logger.warning(
                    "ignoring the saved learning state of slot %s: not a policy state", slot_id, exc_info=True
                )
                continue
            self._kept[slot_id] = _canonical(entry)
            self.stats.states_loaded += 1

    def _keep(self, slots: list[Slot]) -> None:
        """Save the policy state of `slots` where it changed (one round trip); a failure only logs."""
        changed = {}
        for slot in slots:
            entry = self._entry(slot)
            if entry is not None:
                text = _canonical(entry)
                if self._kept.get(slot.id) != text:
                    changed[slot.id] = (entry, text)
        if not changed:
            return
        try:
            self.states.save({slot_id: entry for slot_id, (entry, _) in changed.items()})
        except Exception:
            self.stats.state_save_failures += 1
            logger.warning("could not save the learning state of %d slot(s)", len(changed), exc_info=True)
            return
        self.stats.state_saves += 1
        for slot_id, (_, text) in changed.items():
            self._kept[slot_id] = text

    def _entry(self, slot: Slot) -> Entry | None:
        """`slot`'s part of `AllocationTable.to_state()`, without serialising every other slot's policy:
        the table's fingerprint of a compiled slot is taken from a whole `to_state()` once per slot
        object (a new revision compiles a new one), the policy's state each time."""
        policy = self.table.policy(slot.id)
        if policy is None:
            return None
        known = self._fingerprints.get(slot.id)
        if known is None or known[0] is not slot:
            entry = self.table.to_state().get(slot.id)
            if entry is None:
                return None
            self._fingerprints[slot.id] = (slot, entry["fingerprint"])
            return entry
        return {"fingerprint": known[1], "policy": policy.to_state()}

    def allocation(self, slot: Slot, ctx: Mapping) -> tuple[str, Mapping[str, float] | None]:
        """``(bucket, weights)`` for this visitor (weights None before the slot's first refresh)."""
        return self.table.lookup(slot, ctx)

    def evidence(self, slot_id: str, bucket: str):
        """How far the counts behind a bucket's weights go (`statistics.Evidence`; None before a refresh)."""
        return self.table.evidence(slot_id, bucket)

    def allocations(self, slot_id: str) -> dict[str, dict[str, float]] | None:
        """Every bucket's published weights of one slot."""
        return self.table.allocations(slot_id)


_feedback: Feedback | None = None


def feedback() -> Feedback:
    """This process's `Feedback`."""
    global _feedback
    if _feedback is None:
        with _store_lock:
            if _feedback is None:
                _feedback = Feedback(background=bool(tailor_settings.REFRESH_IN_BACKGROUND))
    return _feedback


@on_reload
def reset() -> None:
    """Forget the stores and every published weight (settings changed; tests)."""
    global _store, _states, _feedback
    with _store_lock:
        _store = None
        _states = None
        _feedback = None
