"""Deciding one slot: targeting first, then the slot's policy among the eligible variants.

Everything here is plain Python over already-compiled slots; it performs no I/O. Allocation weights
for the learning policies are computed elsewhere (when stats refresh, see `policies.AllocationTable`)
and passed in; here they are restricted to the eligible variants and the visitor's stable hash
picks one (`allocation.pick`), so the decision's probability is the exact propensity.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from rules.engine import Condition, Context, Outcome
from rules.engine.i18n import _, pgettext, remembering, wording

from .allocation import pick, restrict
from .contextual import NO_SEGMENT, attribute_facts, context_keys, split_attributes
from .vocabulary import (
    ALGORITHM_NAMES,
    DEFAULT_ALGORITHM,
    DEFAULT_VARIANT,
    GLOBAL_BUCKET,
    PAUSED_BUCKET,
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


#: most `Evaluation`s one variant remembers (`Variant.evaluation`); the memo starts afresh when full
MAX_REMEMBERED_EVALUATIONS = 1024


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

    def evaluation(self, ctx: Context) -> Evaluation:
        """`evaluate` as an `Evaluation`. Conditions remember their outcomes, so the same few come
        back request after request: each is wrapped once (an immutable value, safe to share)."""
        condition = self.condition
        res = condition.evaluate(ctx) if condition is not None else self.evaluate(ctx)
        value = res.value
        if value is not True and value is not False and value is not None:  # not a memo key: 1 == True
            return Evaluation(self.id, self.name, value, res.reason)
        memo = self.__dict__.get("_evaluations")
        if memo is None or len(memo) >= MAX_REMEMBERED_EVALUATIONS:
            memo = self.__dict__["_evaluations"] = {}
        ev = memo.get(res)
        if ev is None:
            ev = memo[res] = Evaluation(self.id, self.name, value, res.reason)
        return ev

    @cached_property
    def facts(self) -> frozenset[str]:
        # a compiled variant never changes: its facts are gathered once (cached on the instance)
        return frozenset() if self.condition is None else self.condition.fact_names()


@dataclass(frozen=True)
class Slot:
    """A compiled personalizable region: its variants in the editor's order, and its policy."""

    id: str
    name: str
    variants: tuple[Variant, ...] = ()
    policy: str = POLICY_RULES
    options: Mapping[str, Any] = field(default_factory=dict)
    #: the slot's experiment is paused: everyone sees the default, and nothing is learned or counted
    paused: bool = False

    def variant(self, variant_id: str) -> Variant | None:
        for v in self.variants:
            if v.id == variant_id:
                return v
        return None

    @cached_property
    def facts_through(self) -> tuple[frozenset[str], ...]:
        """``facts_through[i]``: the facts the variants up to and including the i-th read (gathered
        once per compiled slot: a RULES decision depends on the variants evaluated so far)."""
        out, acc = [], frozenset()
        for v in self.variants:
            acc = acc | v.facts
            out.append(acc)
        return tuple(out)

    @cached_property
    def all_facts(self) -> frozenset[str]:
        """The facts any of the slot's variants reads."""
        return self.facts_through[-1] if self.variants else frozenset()


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
        ev = v.evaluation(ctx)
        out.append(ev)
        if stop_at_first and ev.matched is True:
            break
    return out


def _variant_reason(e: Evaluation) -> str:
    """A variant's line in a default decision's reasons ("Variant 2: Evening 18:00–23:00 …"), worded
    once per remembered evaluation and language (`Variant.evaluation` hands the same ones back)."""
    words = wording()
    kept = e.__dict__.get("_reason")
    if kept is not None and kept[0] == words:
        return kept[1]
    text = _("%(variant)s: %(reason)s") % {"variant": e.variant_name, "reason": e.reason}
    e.__dict__["_reason"] = (words, text)
    return text


def _default(slot: Slot, evaluations: list[Evaluation], facts: frozenset[str]) -> Decision:
    if slot.variants:
        reasons = [_("No variant matched; showing the default")] + [_variant_reason(e) for e in evaluations]
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


def audience_value_words(attribute: str, value: str) -> str:
    """An audience attribute's value in words ("mobile", "evening" in the active language); values
    without words (segment slugs, country codes) stay as they are. The experiments report uses it too."""
    value_word = _VALUE_WORDS.get((attribute, value))
    return value_word() if value_word is not None else value


def _audience_words(key: str) -> str:
    """A context key in words: "segment=vip" -> "segment vip" (segment slugs and codes stay as they are)."""
    attr, _sep, value = key.partition("=")
    attr_word = _ATTRIBUTE_WORDS.get(attr)
    return _("%(attribute)s %(value)s") % {
        "attribute": attr_word() if attr_word is not None else attr,
        "value": audience_value_words(attr, value),
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
    evidence: Any = None,
) -> Decision:
    evaluations = evaluate_variants(slot, ctx, stop_at_first=False)
    facts = slot.all_facts
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
        elif evidence is not None:
            # the counts behind the weights are known: "best" only past the review's minimum sample
            if evidence.leader != arm:
                reasons.append(_("Exploring: %(share)s share (%(method)s)") % words)
            elif evidence.ready:
                reasons.append(_("Best so far: %(share)s share (%(method)s)") % words)
            else:
                reasons.append(_("Leading so far: %(share)s share (%(method)s, too early to call it best)") % words)
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
    evidence: Any = None,
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

    `evidence` (`statistics.Evidence` of the bucket's counts, as the feedback loop publishes it with
    the weights) decides how a learning slot's reason may speak of the chosen arm: "Best so far" only
    once the leader has the review's minimum sample, "Leading so far" for the leader before that,
    "Exploring" otherwise (also without data or on a tie). Without it, the arm with the largest
    weight is called "Best so far".

    Reasons are worded in the active language, each string translated once per language
    (`i18n.remembering`).
    """
    with remembering():
        return _decide(slot, ctx, explain_all, allocation, unit, rng, bucket, evidence)


def _paused(slot: Slot) -> Decision:
    """A paused experiment shows its default to everyone; the bucket marks the decision so that its
    events are logged but counted neither in the arm stats (policy DEFAULT) nor in the review."""
    return Decision(
        slot.id,
        slot.name,
        DEFAULT_VARIANT,
        default_variant_name(),
        POLICY_DEFAULT,
        1.0,
        (_("The experiment is paused: everyone sees the default"),),
        (),
        frozenset(),
        PAUSED_BUCKET,
    )


def _decide(slot, ctx, explain_all, allocation, unit, rng, bucket, evidence=None) -> Decision:
    if slot.paused and slot.variants:
        return _paused(slot)
    if slot.policy in WEIGHTED_POLICIES:
        return _weighted(slot, ctx, allocation, unit, rng, bucket, evidence)
    if slot.policy == POLICY_RULES:
        evaluations = evaluate_variants(slot, ctx, stop_at_first=not explain_all)
        through = slot.facts_through
        for i, e in enumerate(evaluations):
            if e.matched:
                used = through[i]
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
        return _default(slot, evaluations, through[len(evaluations) - 1] if evaluations else frozenset())
    raise ValueError(f"unknown policy {slot.policy!r}")
