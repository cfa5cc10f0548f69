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
from rules.engine.i18n import _, pgettext, remembering

from .allocation import pick, restrict
from .contextual import NO_SEGMENT, attribute_facts, context_keys, split_attributes
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
    "default_variant_name",
    "decide",
]

#: listed in `Decision.facts` when the choice depends on the visitor's identity (a weighted draw)
UNIT_FACT = "visitor"


@dataclass(frozen=True)
class Variant:
    id: str
    name: str
    condition: Condition | None = None
    weight: float = 1.0

    def evaluate(self, ctx: Context) -> Outcome:
        if self.condition is None:
            return Outcome(True, _("Everyone (no conditions)"))
        return self.condition.evaluate(ctx)

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
        reasons = [_("No variant matched; showing the default")] + [
            _("%(variant)s: %(reason)s") % {"variant": e.variant_name, "reason": e.reason} for e in evaluations
        ]
    else:
        reasons = [_("The slot has no variants; showing the default")]
    return Decision(
        slot.id,
        slot.name,
        DEFAULT_VARIANT,
        default_variant_name(),
        POLICY_DEFAULT,
        1.0,
        tuple(reasons),
        tuple(evaluations),
        facts,
    )


def default_variant_name() -> str:
    """What editors and reasons call a slot's default content."""
    return pgettext("variant", "Default")


def algorithm_label(options: Mapping[str, Any]) -> str:
    """How reasons name a bandit slot's algorithm ("Thompson sampling"), translated."""
    key = str(options.get("algorithm") or DEFAULT_ALGORITHM).strip().lower().replace("-", "_").replace(" ", "_")
    if key == "thompson" and options.get("top_two") is not None:
        key = "top_two"
    return _(ALGORITHM_NAMES[key]) if key in ALGORITHM_NAMES else key


def share_text(p: float) -> str:
    """A share as editors read it: "12%", and one decimal near the ends ("0.4%", "99.6%")."""
    return f"{p:.1%}" if p < 0.01 or 0.99 < p < 1 else f"{p:.0%}"


#: how an audience reason names a split attribute and the known values of one ("daypart evening")
_ATTRIBUTE_WORDS = {
    "segment": lambda: pgettext("audience attribute", "segment"),
    "device": lambda: pgettext("audience attribute", "device"),
    "daypart": lambda: pgettext("audience attribute", "daypart"),
    "weekday": lambda: pgettext("audience attribute", "weekday"),
    "country": lambda: pgettext("audience attribute", "country"),
    "language": lambda: pgettext("audience attribute", "language"),
}
_VALUE_WORDS = {
    ("segment", NO_SEGMENT): lambda: pgettext("segment", "(none)"),
    ("device", "mobile"): lambda: pgettext("device", "mobile"),
    ("device", "tablet"): lambda: pgettext("device", "tablet"),
    ("device", "desktop"): lambda: pgettext("device", "desktop"),
    ("device", "bot"): lambda: pgettext("device", "bot"),
    ("daypart", "morning"): lambda: pgettext("daypart", "morning"),
    ("daypart", "afternoon"): lambda: pgettext("daypart", "afternoon"),
    ("daypart", "evening"): lambda: pgettext("daypart", "evening"),
    ("daypart", "night"): lambda: pgettext("daypart", "night"),
    ("weekday", "weekday"): lambda: pgettext("day of the week", "weekday"),
    ("weekday", "weekend"): lambda: pgettext("day of the week", "weekend"),
}


def _audience_words(key: str) -> str:
    """A context key in words: "segment=vip" -> "segment vip" (segment slugs and codes stay as they are)."""
    attr, _sep, value = key.partition("=")
    attr_word = _ATTRIBUTE_WORDS.get(attr)
    value_word = _VALUE_WORDS.get((attr, value))
    return _("%(attribute)s %(value)s") % {
        "attribute": attr_word() if attr_word is not None else attr,
        "value": value_word() if value_word is not None else value,
    }


def _audience(bucket: str, keys: tuple[str, ...]) -> str:
    if bucket != GLOBAL_BUCKET:
        return _("Audience: %(audience)s") % {"audience": _audience_words(bucket)}
    if keys:
        learning = ", ".join(_audience_words(k) for k in keys)
        return _("Audience: all visitors (%(audiences)s: still learning)") % {"audiences": learning}
    return _("Audience: all visitors")


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
        reasons.append(_("The only matching variant"))
    elif slot.policy == POLICY_AB:
        reasons.append(_("A/B split: %(share)s share") % {"share": share})
    else:
        words = {"share": share, "method": algorithm_label(slot.options)}
        if allocation is None:
            reasons.append(_("Exploring: %(share)s share (no results yet, %(method)s)") % words)
        elif weights[arm] >= max(weights.values()):
            reasons.append(_("Best so far: %(share)s share (%(method)s)") % words)
        else:
            reasons.append(_("Exploring: %(share)s share (%(method)s)") % words)
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

    Reasons are worded in the active language, each string translated once per language
    (`i18n.remembering`).
    """
    with remembering():
        return _decide(slot, ctx, explain_all, allocation, unit, rng, bucket)


def _decide(slot, ctx, explain_all, allocation, unit, rng, bucket) -> Decision:
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
