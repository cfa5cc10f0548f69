"""The per-process allocation table: each weighted slot's policy and the weights it last published.

Learning happens here, on a stats refresh, never per request: `AllocationTable.refresh` turns a
stats snapshot into ``{bucket: weights}`` per slot, and `AllocationTable.decide` reads them with no
I/O. A slot's policy is kept (with what it learned) until the slot's policy, options or AB weights
change; `to_state` / `load_state` carry it across restarts.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..contextual import allocation_for
from ..decide import Decision, Slot, decide
from ..statistics import Evidence, evidence_of
from ..stats_store import ArmStats
from ..vocabulary import KIND_CONVERSION, POLICY_AB, WEIGHTED_POLICIES
from .base import Policy, policy_from_state
from .factory import make_policy


def _fingerprint(slot: Slot) -> str:
    weights = [(v.id, v.weight) for v in slot.variants] if slot.policy == POLICY_AB else None
    return json.dumps([slot.policy, weights, dict(slot.options or {})], sort_keys=True, default=str)


def _counts(stats: Mapping[str, ArmStats], arms: list[str], reward: str) -> dict[str, tuple[int, int]]:
    out = {}
    for arm in arms:
        st = stats.get(arm)
        out[arm] = (st.impressions, min(st.successes(reward), st.impressions)) if st is not None else (0, 0)
    return out


@dataclass
class _Entry:
    fingerprint: str
    policy: Policy
    allocations: dict[str, dict[str, float]]
    #: bucket -> how far its counts go (what a reason may claim); see `statistics.evidence_of`
    evidence: dict[str, Evidence] | None = None


class AllocationTable:
    """One process's learning state: a policy per slot and the weights published at the last refresh.

    The service layer keeps one table per process and:

    - every ``STATS_REFRESH_SECONDS``: ``table.refresh(slots, store.snapshot([s.id for s in slots]))``
      (one round trip for all slots);
    - per request and slot: ``table.decide(slot, ctx, unit=visitor_token)`` (no I/O), which looks up
      the visitor's bucket and passes its weights to `decide`.

    Requests read the published weights without locking (a refresh swaps them in whole).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}

    def policy(self, slot_id: str) -> Policy | None:
        entry = self._entries.get(slot_id)
        return entry.policy if entry else None

    def allocations(self, slot_id: str) -> dict[str, dict[str, float]] | None:
        entry = self._entries.get(slot_id)
        return entry.allocations if entry else None

    def refresh(self, slots: Iterable[Slot], snapshot: Mapping[str, Mapping[str, Mapping[str, ArmStats]]]) -> None:
        """Recompute the weights of `slots` from `snapshot` (``StatsStore.snapshot`` of their ids)."""
        with self._lock:
            for slot in slots:
                if slot.policy not in WEIGHTED_POLICIES:
                    continue
                fingerprint = _fingerprint(slot)
                entry = self._entries.get(slot.id)
                if entry is None or entry.fingerprint != fingerprint:
                    policy = make_policy(slot)
                    assert policy is not None
                    entry = _Entry(fingerprint, policy, {})
                arms = [v.id for v in slot.variants]
                stats = snapshot.get(slot.id) or {}
                allocations = entry.policy.allocate(arms, stats)
                reward = (slot.options or {}).get("reward") or KIND_CONVERSION
                evidence = {
                    bucket: evidence_of(_counts(stats.get(bucket) or {}, arms, reward)) for bucket in allocations
                }
                self._entries[slot.id] = _Entry(fingerprint, entry.policy, allocations, evidence)

    def evidence(self, slot_id: str, bucket: str) -> Evidence | None:
        """How far the counts behind `bucket`'s weights go (None before the slot's first refresh)."""
        entry = self._entries.get(slot_id)
        if entry is None or entry.evidence is None:
            return None
        return entry.evidence.get(bucket)

    def lookup(self, slot: Slot, ctx: Mapping[str, Any]) -> tuple[str, Mapping[str, float] | None]:
        """``(bucket, weights)`` to decide `slot` for this visitor (weights None before a refresh)."""
        return allocation_for(slot, ctx, self.allocations(slot.id))

    def decide(
        self,
        slot: Slot,
        ctx: Any,
        *,
        unit: str | None = None,
        rng: random.Random | None = None,
        explain_all: bool = False,
    ) -> Decision:
        bucket, allocation = self.lookup(slot, ctx)
        return decide(slot, ctx, explain_all=explain_all, allocation=allocation, unit=unit, rng=rng, bucket=bucket)

    def to_state(self) -> dict[str, Any]:
        """Every slot's policy state (JSON-safe), to carry discounted counts across restarts."""
        return {
            slot_id: {"fingerprint": e.fingerprint, "policy": e.policy.to_state()}
            for slot_id, e in self._entries.items()
        }

    def load_state(self, state: Mapping[str, Any]) -> None:
        """Restore `to_state()`; a slot whose options changed since is rebuilt on its next refresh."""
        with self._lock:
            for slot_id, item in state.items():
                self._entries[slot_id] = _Entry(item["fingerprint"], policy_from_state(item["policy"]), {})
