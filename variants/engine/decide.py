"""Deciding one slot: targeting first, then the slot's policy among the eligible variants.

Everything here is plain Python over already-compiled slots; it performs no I/O. Allocation weights
for the learning policies are computed elsewhere (when stats refresh, see `policies.AllocationTable`)
and passed in; here they are restricted to the eligible variants and the visitor's stable hash
picks one (`allocation.pick`), so the decision's probability is the exact propensity.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rules.engine import Condition, Context, Outcome

from .allocation import pick, restrict
from .contextual import attribute_facts, context_keys, split_attributes
from .vocabulary import (
    ALGORITHM_NAMES,
    DEFAULT_ALGORITHM,
    DEFAULT_VARIANT,
    GLOBAL_BUCKET,
    POLICIES,
    POLICY_AB,
    POLICY_BANDIT,
    POLICY_CONTEXTUAL,
    POLICY_DEFAULT,
    POLICY_RULES,
    WEIGHTED_POLICIES,
)

__all__ = [
    "DEFAULT_VARIANT",
    "GLOBAL_BUCKET",
    "POLICIES",
    "POLICY_AB",
    "POLICY_BANDIT",
    "POLICY_CONTEXTUAL",
    "POLICY_DEFAULT",
    "POLICY_RULES",
    "WEIGHTED_POLICIES",
    "Decision",
    "Evaluation",
    "Slot",
    "Variant",
    "algorithm_label",
    "decide",
]

#: listed in `Decision.facts` when the choice depends on the visitor's identity (a weighted draw)
UNIT_FACT = "visitor"

_EVERYONE = Outcome(True, "Everyone (no conditions)")


@dataclass(frozen=True)
class Variant:
    id: str
    name: str
    condition: Condition | None = None
    weight: float = 1.0

    def evaluate(self, ctx: Context) -> Outcome:
        return _EVERYONE if self.condition is None else self.condition.evaluate(ctx)

    @property
    def facts(self) -> frozenset[str]:
        return frozenset() if self.condition is None else self.condition.fact_names()


@dataclass(frozen=True)
class Slot:
    """A compiled personalizable region: its variants in the editor's order, and its policy."""

    id: str
    name: str
    variants: tuple[Variant, ...] = ()
    policy: str = POLICY_RULES
    options: Mapping[str, Any] = field(default_factory=dict)

    def variant(self, variant_id: str) -> Variant | None:
        for v in self.variants:
            if v.id == variant_id:
                return v
        return None


@dataclass(frozen=True)
class Evaluation:
    """How one variant fared against the context (for explanations and the preview)."""

    variant_id: str
    variant_name: str
    matched: bool | None
    reason: str


@dataclass(frozen=True)
class Decision:
    slot_id: str
    slot_name: str
    variant_id: str
    variant_name: str
    policy: str
    probability: float
    reasons: tuple[str, ...]
    evaluations: tuple[Evaluation, ...] = ()
    #: the context facts that influenced this decision (the cache dimensions)
    facts: frozenset[str] = frozenset()
    #: the bucket whose allocation weights were used ("*" = slot-wide)
    bucket: str = GLOBAL_BUCKET
    #: the stats buckets an event against this decision must be counted in ("*" first); see
    #: `stats.event_increments`
    stats_buckets: tuple[str, ...] = (GLOBAL_BUCKET,)


def evaluate_variants(slot: Slot, ctx: Context, *, stop_at_first: bool) -> list[Evaluation]:
    out: list[Evaluation] = []
    for v in slot.variants:
        res = v.evaluate(ctx)
        out.append(Evaluation(v.id, v.name, res.value, res.reason))
        if stop_at_first and res.value is True:
            break
    return out


def _default(slot: Slot, evaluations: list[Evaluation], facts: frozenset[str]) -> Decision:
    if slot.variants:
        reasons = ["No variant matched; showing the default"] + [f"{e.variant_name}: {e.reason}" for e in evaluations]
    else:
        reasons = ["The slot has no variants; showing the default"]
    return Decision(
        slot.id,
        slot.name,
        DEFAULT_VARIANT,
        "Default",
        POLICY_DEFAULT,
        1.0,
        tuple(reasons),
        tuple(evaluations),
        facts,
    )


def algorithm_label(options: Mapping[str, Any]) -> str:
    """How reasons name a bandit slot's algorithm ("Thompson sampling")."""
    key = str(options.get("algorithm") or DEFAULT_ALGORITHM).strip().lower().replace("-", "_").replace(" ", "_")
    if key == "thompson" and options.get("top_two") is not None:
        key = "top_two"
    return ALGORITHM_NAMES.get(key, key)


def share_text(p: float) -> str:
    """A share as editors read it: "12%", and one decimal near the ends ("0.4%", "99.6%")."""
    return f"{p:.1%}" if p < 0.01 or 0.99 < p < 1 else f"{p:.0%}"


def _audience(bucket: str, keys: tuple[str, ...]) -> str:
    def words(key: str) -> str:
        attr, _, value = key.partition("=")
        return f"{attr} {value}"

    if bucket != GLOBAL_BUCKET:
        return f"Audience: {words(bucket)}"
    if keys:
        return f"Audience: all visitors ({', '.join(words(k) for k in keys)}: still learning)"
    return "Audience: all visitors"


def _weighted(
    slot: Slot,
    ctx: Context,
    allocation: Mapping[str, float] | None,
    unit: str | None,
    rng: Any,
    bucket: str | None,
) -> Decision:
    evaluations = evaluate_variants(slot, ctx, stop_at_first=False)
    facts = frozenset().union(*(v.facts for v in slot.variants))
    eligible = [e for e in evaluations if e.matched]
    if not eligible:
        return _default(slot, evaluations, facts)
    keys: tuple[str, ...] = ()
    if slot.policy == POLICY_CONTEXTUAL:
        keys = context_keys(slot, ctx)
        facts = facts | attribute_facts(split_attributes(slot))
    bucket = bucket or GLOBAL_BUCKET
    base = allocation
    if base is None and slot.policy == POLICY_AB:
        base = {v.id: v.weight for v in slot.variants}
    weights = restrict(base, [e.variant_id for e in eligible])
    arm, probability = pick(weights, unit, slot.id, rng)
    chosen = next(e for e in eligible if e.variant_id == arm)

    reasons = []
    if slot.variant(arm).condition is not None:  # type: ignore[union-attr]
        reasons.append(chosen.reason)
    share = share_text(probability)
    if len(eligible) == 1:
        reasons.append("The only matching variant")
    elif slot.policy == POLICY_AB:
        reasons.append(f"A/B split: {share} share")
    else:
        method = algorithm_label(slot.options)
        if allocation is None:
            reasons.append(f"Exploring: {share} share (no results yet, {method})")
        elif weights[arm] >= max(weights.values()):
            reasons.append(f"Best so far: {share} share ({method})")
        else:
            reasons.append(f"Exploring: {share} share ({method})")
    if slot.policy == POLICY_CONTEXTUAL:
        reasons.append(_audience(bucket, keys))
    return Decision(
        slot.id,
        slot.name,
        arm,
        chosen.variant_name,
        slot.policy,
        probability,
        tuple(reasons),
        tuple(evaluations),
        facts | {UNIT_FACT},
        bucket,
        (GLOBAL_BUCKET, *keys),
    )


def decide(
    slot: Slot,
    ctx: Context,
    *,
    explain_all: bool = False,
    allocation: Mapping[str, float] | None = None,
    unit: str | None = None,
    rng: Any = None,
    bucket: str | None = None,
) -> Decision:
    """Pick the variant for `slot` in `ctx`.

    RULES: the first matching variant. With `explain_all`, every variant is evaluated (for the
    editor's preview) rather than stopping at the first match; the decision is the same either way.

    AB / BANDIT / CONTEXTUAL: targeting first (only variants whose condition is True are eligible;
    none: the default, policy DEFAULT), then `allocation` (arm id -> weight, published by the
    slot's policy at the last stats refresh for `bucket`; None: the variants' own weights for AB,
    an even split otherwise) restricted to the eligible variants and renormalised, and the visitor
    `unit` (their stable token; None: a fresh draw from `rng`) picks one. `probability` is the
    exact propensity of that choice. `bucket` names the allocation's bucket (see
    `contextual.allocation_for`); it is recorded on the decision.
    """
    if slot.policy in WEIGHTED_POLICIES:
        return _weighted(slot, ctx, allocation, unit, rng, bucket)
    if slot.policy == POLICY_RULES:
        evaluations = evaluate_variants(slot, ctx, stop_at_first=not explain_all)
        facts = frozenset().union(*(slot.variants[i].facts for i in range(len(evaluations))))
        for i, e in enumerate(evaluations):
            if e.matched:
                used = frozenset().union(*(slot.variants[j].facts for j in range(i + 1)))
                return Decision(
                    slot.id,
                    slot.name,
                    e.variant_id,
                    e.variant_name,
                    POLICY_RULES,
                    1.0,
                    (e.reason,),
                    tuple(evaluations),
                    used,
                )
        return _default(slot, evaluations, facts)
    raise ValueError(f"unknown policy {slot.policy!r}")
