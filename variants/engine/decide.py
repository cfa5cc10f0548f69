"""Deciding one slot: targeting first, then the slot's policy among the eligible variants.

Everything here is plain Python over already-compiled slots; it performs no I/O. Allocation weights
for the learning policies are computed elsewhere (when stats refresh) and passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rules.engine import Condition, Context, Outcome

DEFAULT_VARIANT = "default"

POLICY_DEFAULT = "DEFAULT"
POLICY_RULES = "RULES"
POLICY_AB = "AB"
POLICY_BANDIT = "BANDIT"
POLICY_CONTEXTUAL = "CONTEXTUAL"
POLICIES = (POLICY_DEFAULT, POLICY_RULES, POLICY_AB, POLICY_BANDIT, POLICY_CONTEXTUAL)

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

    def variant_name(self, variant_id: str) -> str:
        if variant_id == DEFAULT_VARIANT:
            return "Default"
        v = self.variant(variant_id)
        return v.name if v else variant_id


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
        reasons = ["No variant matched; showing the default"] + [
            f"{e.variant_name}: {e.reason}" for e in evaluations
        ]
    else:
        reasons = ["The slot has no variants; showing the default"]
    return Decision(
        slot.id, slot.name, DEFAULT_VARIANT, "Default", POLICY_DEFAULT, 1.0, tuple(reasons),
        tuple(evaluations), facts,
    )


def decide(slot: Slot, ctx: Context, *, explain_all: bool = False) -> Decision:
    """Pick the variant for `slot` in `ctx`.

    With `explain_all`, every variant is evaluated (for the editor's preview) rather than stopping at
    the first match; the decision is the same either way.
    """
    if slot.policy == POLICY_RULES:
        evaluations = evaluate_variants(slot, ctx, stop_at_first=not explain_all)
        facts = frozenset().union(*(slot.variants[i].facts for i in range(len(evaluations))))
        for i, e in enumerate(evaluations):
            if e.matched:
                used = frozenset().union(*(slot.variants[j].facts for j in range(i + 1)))
                return Decision(
                    slot.id, slot.name, e.variant_id, e.variant_name, POLICY_RULES, 1.0,
                    (e.reason,), tuple(evaluations), used,
                )
        return _default(slot, evaluations, facts)
    raise ValueError(f"unknown policy {slot.policy!r}")
