"""Simulated traffic through the service layer: what `manage.py tailor_traffic` runs.

The engine's simulator (`variants.engine.traffic`) draws a synthetic population with known
conversion rates; here each simulated visitor goes through exactly what the API does for a real one:

- `personalize_compiled` decides the page (context, targeting, the feedback loop's weights, the
  visitor's stable hash) and signs the decision token;
- `record_event(token, "impression")`, and `record_event(token, "conversion")` when the visitor
  converts (token check, dedupe, stats increments in the decision's buckets, event log);
- every `refresh_every` visitors the loop re-reads the stats store and recomputes the weights (it
  stands in for STATS_REFRESH_SECONDS: a refresh per N visitors instead of per N seconds).

It runs against the configured stats store inside a sandbox: on the database in a transaction that
is rolled back, on Redis under a scratch key prefix that is deleted afterwards, so a simulation
never touches real stats or reviews.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.test.utils import override_settings

from rules.context_builder import Consent, RequestContext
from rules.engine import Context
from tailor.redis import get_redis
from tailor.settings import tailor_settings
from variants.compiler import CompiledPage, compile_slot
from variants.engine.decide import Slot
from variants.engine.traffic import Choice, Population, TrafficResult, Visitor, simulate_traffic
from variants.events import record_event
from variants.feedback import Feedback, stats_store
from variants.services import personalize_compiled

SIMULATION_CONSENT = Consent(personalization=False, analytics=False, source="simulation")


class ServiceDriver:
    """An engine `Driver` that decides and records through the service functions the API uses.

    `arm_of` maps a variant id to the population's arm name (the default content is not an arm:
    the slot's variants must all be eligible for the simulated visitors).
    """

    def __init__(self, compiled: CompiledPage, slot: Slot, loop: Feedback, arm_of: Mapping[str, str]):
        self.compiled = compiled
        self.slot = slot
        self.loop = loop
        self.arm_of = dict(arm_of)
        self._tokens: dict[int, str] = {}

    def decide(self, visitor: Visitor) -> Choice:
        rc = RequestContext(Context.build(**visitor.facts), SIMULATION_CONSENT, visitor_id=visitor.unit)
        result = personalize_compiled(self.compiled, rc, loop=self.loop)
        decision = result.decision_for(self.slot.id)
        if decision is None or decision.variant_id not in self.arm_of:
            raise ValueError(
                f"visitor {visitor.index} was shown {decision.variant_name if decision else 'nothing'!r}: "
                "every variant of a simulated slot must be eligible for every simulated visitor"
            )
        self._tokens[visitor.index] = result.tokens[self.slot.id]
        return Choice(self.arm_of[decision.variant_id], decision.probability, decision.bucket, decision.stats_buckets)

    def record(self, visitor: Visitor, choice: Choice, converted: bool) -> None:
        token = self._tokens.pop(visitor.index)
        record_event(token, "impression")
        if converted:
            record_event(token, "conversion")

    def refresh(self):
        self.loop.refresh([self.slot])
        return self.loop.allocations(self.slot.id)


def synthetic_slot(arms: list[str], policy: str, options: Mapping[str, Any], seed: int | None = None) -> CompiledPage:
    """A page with one slot whose unconditional variants are the arms, compiled like a real block.

    The slot id salts the visitors' hashes, so it follows the seed (a seeded run repeats exactly).
    """
    raw = {
        "slot": "simulated",
        "policy": policy,
        "options": dict(options),
        "default": [],
        "variants": [
            {"type": "item", "id": arm, "value": {"name": arm, "content": [], "conditions": [], "weight": 1.0}}
            for arm in arms
        ],
    }
    slot = compile_slot(f"simulated-{uuid.uuid4().hex[:12] if seed is None else seed}", raw)
    return CompiledPage(page_id=None, revision=None, slots=(slot,))  # type: ignore[arg-type]


@contextlib.contextmanager
def sandbox() -> Iterator[str]:
    """Run with scratch stats and events, discarded afterwards; yields where ("database" / "redis")."""
    client = get_redis()

    class Rollback(Exception):
        pass

    # Counted events, their dedupe marks and the arm stats live in the database with or without Redis
    # (variants.event_log): the scratch ones are rolled back either way.
    if client is not None:
        prefix = f"{tailor_settings.REDIS_PREFIX}simulate-{uuid.uuid4().hex[:8]}:"
        try:
            # No background flush: it would fold the scratch events into the real aggregates.
            with (
                override_settings(TAILOR={**_user_tailor(), "REDIS_PREFIX": prefix, "FLUSH_INTERVAL_SECONDS": None}),
                transaction.atomic(),
            ):
                yield "redis"
                raise Rollback
        except Rollback:
            pass
        finally:
            for key in client.scan_iter(match=prefix.replace("[", "\\[") + "*", count=1000):
                client.delete(key)
        return

    try:
        with transaction.atomic():
            yield "database"
            raise Rollback
    except Rollback:
        pass


def _user_tailor() -> dict:
    return dict(getattr(settings, "TAILOR", {}) or {})


@dataclass
class Run:
    result: TrafficResult
    store: str
    slot: Slot
    #: the weights published at the end, per bucket ("*" = slot-wide), by arm name
    final_weights: dict[str, dict[str, float]]


def run_traffic(
    population: Population,
    *,
    policy: str = "BANDIT",
    options: Mapping[str, Any] | None = None,
    visitors: int,
    refresh_every: int = 250,
    seed: int | None = None,
    compiled: CompiledPage | None = None,
    slot_id: str | None = None,
    arm_of: Mapping[str, str] | None = None,
) -> Run:
    """Simulate `visitors` of `population` on a synthetic slot (or `compiled`'s slot `slot_id`, whose
    variant ids `arm_of` maps to the population's arms) through the service layer, in a sandbox."""
    with sandbox() as where:
        if compiled is None:
            compiled = synthetic_slot(population.arms, policy, options or {}, seed)
            slot = compiled.slots[0]
            arm_of = {arm: arm for arm in population.arms}
        else:
            slot = compiled.slot(slot_id)  # type: ignore[arg-type, assignment]
            stats_store().reset(slot.id)  # start from nothing (undone with the sandbox)
        loop = Feedback(refresh_seconds=float("inf"))  # refreshed every `refresh_every` visitors only
        driver = ServiceDriver(compiled, slot, loop, arm_of or {})
        result = simulate_traffic(population, driver, visitors=visitors, refresh_every=refresh_every, seed=seed)
        published = loop.allocations(slot.id) or {}
        final = {
            bucket: {arm_of[a]: w for a, w in weights.items() if a in arm_of}  # type: ignore[index]
            for bucket, weights in sorted(published.items())
        }
        return Run(result, where, slot, final)
