"""Experiments: the slots with two or more variants, and what their events say about them.

`sync_experiments` keeps one `Experiment` row per such slot on the live pages; `review` reads an
experiment's hourly aggregates (`EventAggregate`: impressions, the slot's success kind, and the
inverse-propensity sums that undo a bandit's adaptive allocation) from its `started_at` on, and hands
the counts to the pure statistics engine (`variants.engine.statistics.analyse`). Nothing here
computes a statistic itself. The admin's report and detail pages (`cms.experiments`) and
`manage.py tailor_simulate` read experiments through these two functions.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext
from wagtail.models import Page, get_page_models

from variants.compiler import compiled_page, stream_fields
from variants.engine import Slot
from variants.engine.statistics import Analysis, ArmCounts, analyse
from variants.engine.vocabulary import DEFAULT_VARIANT, KIND_CONVERSION, KIND_IMPRESSION, POLICY_AB
from variants.feedback import feedback, stats_store
from variants.models import EventAggregate, Experiment

# --- keeping the experiment rows in step with the pages ------------------------------------------


def _models_with_stream_fields() -> list[type[Page]]:
    return [m for m in get_page_models() if stream_fields(m)]


def sync_experiments(pages=None) -> int:
    """Create or update one `Experiment` per slot with two or more variants on the live `pages`
    (None: every live page whose type can hold a personalized region), and drop the rows of slots
    those pages no longer have. Returns how many experiments the pages hold."""
    if pages is None:
        pages = []
        for model in _models_with_stream_fields():
            pages.extend(model.objects.live().exact_type(model))
    seen = 0
    for page in pages:
        slots = [s for s in compiled_page(page).slots if len(s.variants) >= 2]
        with transaction.atomic():
            for slot in slots:
                Experiment.objects.update_or_create(
                    slot_id=slot.id,
                    defaults={
                        "page_id": page.pk,
                        "slot_name": slot.name,
                        "policy": slot.policy,
                        "variant_count": len(slot.variants),
                    },
                )
            # a slot that lost its variants to a declared winner stays listed, as concluded
            Experiment.objects.filter(page_id=page.pk).exclude(slot_id__in=[s.id for s in slots]).exclude(
                status=Experiment.STATUS_WINNER
            ).delete()
        seen += len(slots)
    return seen


# --- reading the counts --------------------------------------------------------------------------


@dataclass
class Review:
    """Everything the detail page and the report show for one experiment."""

    experiment: Experiment
    slot: Slot | None
    analysis: Analysis | None
    success_kind: str
    #: hour -> arm id -> (impressions, successes) in that hour
    hourly: dict[dt.datetime, dict[str, tuple[int, int]]] = field(default_factory=dict)
    last_hour: dt.datetime | None = None

    @property
    def visitors(self) -> int:
        return self.analysis.impressions if self.analysis else 0

    def arm_name(self, arm_id: str) -> str:
        if arm_id == DEFAULT_VARIANT:
            return gettext("Default")
        if self.slot and (v := self.slot.variant(arm_id)):
            return v.name
        return arm_id


def live_slot(experiment: Experiment) -> Slot | None:
    page = experiment.page.specific
    if not page.live:
        return None
    return compiled_page(page).slot(experiment.slot_id)


def _current_shares(slot: Slot) -> dict[str, float]:
    if slot.policy == POLICY_AB:
        total = sum(v.weight for v in slot.variants) or 1.0
        return {v.id: v.weight / total for v in slot.variants}
    fb = feedback()
    try:
        fb.ensure_fresh([slot])
    except Exception:  # the stats store is down: the review still shows the counts
        return {}
    return dict((fb.allocations(slot.id) or {}).get("*") or {})


def review(experiment: Experiment, *, draws: int = 100_000) -> Review:
    slot = live_slot(experiment)
    success = (slot.options.get("reward") if slot else None) or KIND_CONVERSION
    rows = EventAggregate.objects.filter(slot_id=experiment.slot_id, kind__in=[KIND_IMPRESSION, success])
    if experiment.started_at:
        # counted from the hour it started; a reset's own hour is left out rather than half counted
        start = experiment.started_at.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
        rows = rows.filter(hour__gte=start)
    rows = rows.values("hour", "variant_id", "kind").annotate(n=Sum("count"), w=Sum("weight"), w2=Sum("weight_sq"))
    hourly: dict[dt.datetime, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    totals: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0.0, 0.0, 0.0, 0.0])
    for r in rows:
        t = totals[r["variant_id"]]
        if r["kind"] == KIND_IMPRESSION:
            hourly[r["hour"]][r["variant_id"]][0] += r["n"]
            t[0] += r["n"]
            t[4] += r["w"] or 0.0
            t[5] += r["w2"] or 0.0
        else:
            hourly[r["hour"]][r["variant_id"]][1] += r["n"]
            t[1] += r["n"]
            t[2] += r["w"] or 0.0
            t[3] += r["w2"] or 0.0
    arm_ids = (
        [v.id for v in slot.variants] if slot and slot.variants else sorted(k for k in totals if k != DEFAULT_VARIANT)
    )
    if totals.get(DEFAULT_VARIANT, [0])[0]:
        arm_ids = [DEFAULT_VARIANT, *arm_ids]  # the default was shown: it is the natural control
    shares = _current_shares(slot) if slot else {}
    is_ab = slot is not None and slot.policy == POLICY_AB
    result = Review(experiment, slot, None, success)
    arms = []
    for arm_id in arm_ids:
        t = totals.get(arm_id, [0, 0, 0.0, 0.0, 0.0, 0.0])
        arms.append(
            ArmCounts(
                id=arm_id,
                name=result.arm_name(arm_id),
                # an event log can hold a conversion whose impression was never reported
                impressions=int(max(t[0], t[1])),
                conversions=int(t[1]),
                share=shares.get(arm_id, 0.0 if shares else None),
                expected_share=shares.get(arm_id, 0.0) if is_ab and arm_id != DEFAULT_VARIANT else None,
                conversion_weight=t[2],
                conversion_weight_sq=t[3],
                impression_weight=max(t[4], t[2]),
                impression_weight_sq=max(t[5], t[3]),
            )
        )
    if len(arms) < 2 or not any(a.impressions for a in arms):
        return result  # nothing to analyse yet (and nothing may be called best)
    history, running = [], defaultdict(lambda: [0, 0])
    for hour in sorted(hourly):
        for arm_id, (n, c) in hourly[hour].items():
            running[arm_id][0] += n
            running[arm_id][1] += c
        history.append({a: (max(n, c), c) for a, (n, c) in running.items()})
    result.hourly = {h: {a: tuple(v) for a, v in arms_.items()} for h, arms_ in sorted(hourly.items())}
    result.last_hour = max(hourly) if hourly else None
    result.analysis = analyse(arms, arm_ids[0], history=history[:-1], draws=draws)
    return result


# --- actions (domain functions; the admin's views call them) ----------------------------------------

ACTION_RESET = "tailor.experiment.reset"
ACTION_WINNER = "tailor.experiment.declare_winner"


class ExperimentActionError(ValueError):
    """An action that cannot be taken; the message is for the editor (translated)."""


def reset_experiment(experiment: Experiment, user=None, *, now: dt.datetime | None = None) -> None:
    """Start counting afresh: the review counts events from now on, and the bandit forgets what it
    learned (its arm stats are cleared, so it explores again). The event log and the aggregates keep
    the old events. Recorded in the page's history (Wagtail's audit log)."""
    from wagtail.log_actions import log  # the audit log registry loads every app's hooks: import when acting

    now = now or timezone.now()
    with transaction.atomic():
        experiment.started_at = now
        experiment.status = Experiment.STATUS_RUNNING
        experiment.winner_variant_id = ""
        experiment.save(update_fields=["started_at", "status", "winner_variant_id", "updated_at"])
        stats_store().reset(experiment.slot_id)
        log(
            instance=experiment.page.specific,
            action=ACTION_RESET,
            user=user,
            data={"slot": experiment.slot_name, "slot_id": experiment.slot_id, "since": now.isoformat()},
        )


def _find_slot_value(node, slot_id: str) -> dict | None:
    """The raw value of the PersonalizedBlock with block id `slot_id`, anywhere in raw stream data."""
    if isinstance(node, dict):
        if node.get("id") == slot_id and isinstance(node.get("value"), dict) and "variants" in node["value"]:
            return node["value"]
        children = node.values()
    elif isinstance(node, list):
        children = node
    else:
        return None
    for child in children:
        found = _find_slot_value(child, slot_id)
        if found is not None:
            return found
    return None


def declare_winner(experiment: Experiment, variant_id: str, user=None, *, publish: bool = False):
    """Make `variant_id`'s content the slot's default in a new revision of the page (from its latest
    draft), published or left as a draft; the slot's variants are removed (they remain in the page's
    revision history), which ends the experiment. Recorded in the page's history. Returns the revision.
    """
    from wagtail.log_actions import log  # the audit log registry loads every app's hooks: import when acting

    page = experiment.page.specific
    draft = page.get_latest_revision_as_object()
    for f in stream_fields(type(draft)):
        raw = getattr(draft, f.attname).get_prep_value()
        value = _find_slot_value(raw, experiment.slot_id)
        if value is None:
            continue
        items = value.get("variants") or []
        chosen = next(
            (i for i in items if isinstance(i, dict) and (i.get("id") == variant_id)),
            None,
        )
        if chosen is None:
            raise ExperimentActionError(gettext("This slot has no variant with that id any more"))
        winner = chosen.get("value") or {}
        value["default"] = winner.get("content") or []
        value["variants"] = []
        setattr(draft, f.attname, raw)
        break
    else:
        raise ExperimentActionError(gettext("The page's latest version no longer holds this slot"))
    with transaction.atomic():
        revision = draft.save_revision(user=user, log_action=True)
        if publish:
            revision.publish(user=user)
        experiment.status = Experiment.STATUS_WINNER
        experiment.winner_variant_id = variant_id
        experiment.save(update_fields=["status", "winner_variant_id", "updated_at"])
        log(
            instance=page,
            action=ACTION_WINNER,
            user=user,
            revision=revision,
            data={
                "slot": experiment.slot_name,
                "slot_id": experiment.slot_id,
                "variant": winner.get("name") or variant_id,
                "variant_id": variant_id,
                "published": publish,
            },
        )
    return revision


# --- near-duplicate variants ------------------------------------------------------------------------

#: variants whose text is at least this similar (rapidfuzz ratio, 0-100) are flagged: they split
#: traffic without testing anything
NEAR_DUPLICATE_THRESHOLD = 90.0

_TAG = re.compile(r"<[^>]+>")


def _texts(node) -> list[str]:
    """The strings in raw block data (rich text without its tags), skipping ids and block types."""
    if isinstance(node, str):
        return [html.unescape(_TAG.sub(" ", node))]
    if isinstance(node, list):
        return [t for child in node for t in _texts(child)]
    if isinstance(node, dict):
        return [t for key, child in node.items() if key not in ("id", "type") for t in _texts(child)]
    return []


def variant_texts(experiment: Experiment) -> dict[str, tuple[str, str]]:
    """``{variant id: (name, text of its content)}`` from the live page's raw data."""
    page = experiment.page.specific
    for f in stream_fields(type(page)):
        value = _find_slot_value(getattr(page, f.attname).get_prep_value(), experiment.slot_id)
        if value is not None:
            out = {}
            for item in value.get("variants") or []:
                if isinstance(item, dict) and isinstance(item.get("value"), dict):
                    v = item["value"]
                    out[item.get("id")] = (v.get("name") or "", " ".join(" ".join(_texts(v.get("content"))).split()))
            return out
    return {}


def near_duplicates(
    experiment: Experiment, threshold: float = NEAR_DUPLICATE_THRESHOLD
) -> list[tuple[str, str, float]]:
    """Pairs of variants whose content reads almost the same: ``(name, name, similarity 0-100)``."""
    from rapidfuzz import fuzz  # only the review needs it; keeps importing this module cheap

    items = [(name, text) for name, text in variant_texts(experiment).values() if text]
    pairs = []
    for i, (name_a, text_a) in enumerate(items):
        for name_b, text_b in items[i + 1 :]:
            score = fuzz.ratio(text_a.casefold(), text_b.casefold())
            if score >= threshold:
                pairs.append((name_a, name_b, round(score, 1)))
    return pairs
