"""The personalization simulator: see a page as a visitor in any context would, and why.

The admin view (`SimulatorView`) and the page preview mode (`cms.models.PersonalizationPreviewMixin`)
share `simulate()`: decide every slot of a page with `personalize_page(..., preview=True)` (every
variant evaluated, nothing recorded, no token signed) and turn the decisions into what an editor
reads: the chosen variant and its reasons, each variant that lost and why, and the context used.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse, reverse_lazy
from django.utils import dateformat
from django.utils.http import urlencode
from django.utils.translation import gettext, pgettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from django.views.generic import FormView
from wagtail.admin.auth import user_has_any_page_permission
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.models import Page

from cms.blocks import PersonalizedBlock
from cms.forms import SESSION_KEY, SOURCE_SIMULATOR, SimulatorForm, default_timezone
from rules.context_builder import RequestContext
from rules.engine import Context, Fact
from rules.engine.context import (
    SOURCE_HEADER,
    SOURCE_INPUT,
    SOURCE_PROFILE,
    SOURCE_PROVIDER,
    SOURCE_SEGMENTS,
    SOURCE_SERVER,
)
from rules.segments import segment_index
from variants.compiler import stream_fields
from variants.engine import Decision, Slot
from variants.engine.allocation import restrict
from variants.engine.decide import share_text
from variants.engine.statistics import ArmCounts, analyse
from variants.engine.stats_store import ArmStats
from variants.engine.vocabulary import (
    DEFAULT_VARIANT,
    GLOBAL_BUCKET,
    KIND_CONVERSION,
    LEARNING_POLICIES,
    POLICY_AB,
    POLICY_LABELS,
    POLICY_RULES,
    WEIGHTED_POLICIES,
)
from variants.feedback import feedback, stats_store
from variants.services import PagePersonalization, personalize_page

# --- what the editor reads -------------------------------------------------------------------

#: how the simulator names a variant's fate
STATUS_LABELS = {
    "chosen": pgettext_lazy("variant", "Chosen"),
    "matched": pgettext_lazy("variant", "Matched"),
    "not-matched": pgettext_lazy("variant", "Not matched"),
    "unknown": pgettext_lazy("variant", "Unknown"),
}


@dataclass
class VariantRow:
    name: str
    #: "chosen", "matched", "not-matched" or "unknown"
    status: str
    reason: str
    #: why it was not shown ("" for the chosen one)
    lost_because: str = ""
    #: for a weighted slot (A/B, bandit, contextual): the chance this visitor is shown it now (None: n/a)
    share: float | None = None

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def share_text(self) -> str:
        return "" if self.share is None else share_text(self.share)


@dataclass
class SlotReport:
    decision: Decision
    policy: str
    rows: list[VariantRow]
    default_chosen: bool
    #: the chosen content (a StreamValue) when it could be found on the page, for a rendered preview
    content: Any = None
    #: for a learning slot: what its stats say so far, and whether that is enough to call one best
    evidence: str = ""
    evidence_ready: bool = False
    #: whether the rows carry each variant's current share (a weighted slot)
    weighted: bool = False

    @property
    def name(self) -> str:
        return self.decision.slot_name

    @property
    def policy_label(self) -> str:
        """The slot's policy (a default decision still belongs to a RULES or BANDIT slot)."""
        return gettext(POLICY_LABELS[self.policy]) if self.policy in POLICY_LABELS else self.policy


#: how the simulator names where a fact came from (`rules.engine.context`'s sources, and its own)
SOURCE_LABELS = {
    SOURCE_INPUT: pgettext_lazy("fact source", "input"),
    SOURCE_HEADER: pgettext_lazy("fact source", "header"),
    SOURCE_PROVIDER: pgettext_lazy("fact source", "provider"),
    SOURCE_PROFILE: pgettext_lazy("fact source", "profile"),
    SOURCE_SERVER: pgettext_lazy("fact source", "server"),
    SOURCE_SEGMENTS: pgettext_lazy("fact source", "segments"),
    SOURCE_SIMULATOR: pgettext_lazy("fact source", "simulator"),
}


@dataclass
class FactRow:
    name: str
    value: str
    #: the source's code ("input", "simulator"...); `source_label` is what the editor reads
    source: str
    detail: str = ""

    @property
    def source_label(self) -> str:
        return SOURCE_LABELS.get(self.source, self.source)


@dataclass
class Simulation:
    page: Page
    result: PagePersonalization
    slots: list[SlotReport]
    facts: list[FactRow]
    local_time: datetime | None
    notes: list[str] = field(default_factory=list)

    @property
    def local_time_text(self) -> str:
        """The visitor's wall clock, as they would read it (the template filter would convert it)."""
        if self.local_time is None:
            return ""
        # Translators: how the simulator shows the visitor's local time, in Django's date format syntax.
        when = dateformat.format(self.local_time, gettext("D d M Y, H:i"))
        return gettext("%(when)s (%(timezone)s)") % {"when": when, "timezone": self.local_time.tzinfo}


def _lost_because(status: str, reason: str, decision: Decision) -> str:
    if status == "not-matched":
        return gettext("Its conditions do not match: %(reason)s") % {"reason": reason}
    if status == "unknown":
        return gettext("Not enough is known to match it: %(reason)s") % {"reason": reason}
    # A matching variant that lost: under RULES an earlier one matched too; otherwise the split chose.
    if decision.policy == POLICY_RULES:
        return gettext("Matched, but %(variant)s comes first") % {"variant": decision.variant_name}
    policy = gettext(POLICY_LABELS[decision.policy]) if decision.policy in POLICY_LABELS else decision.policy
    return gettext("Matched, but the %(policy)s picked %(variant)s") % {
        "policy": policy,
        "variant": decision.variant_name,
    }


def variant_rows(decision: Decision) -> list[VariantRow]:
    """Every variant in the editor's order, with how it fared against the context."""
    rows = []
    for e in decision.evaluations:
        if e.variant_id == decision.variant_id:
            rows.append(VariantRow(e.variant_name, "chosen", e.reason))
            continue
        status = {True: "matched", False: "not-matched", None: "unknown"}[e.matched]
        rows.append(VariantRow(e.variant_name, status, e.reason, _lost_because(status, e.reason, decision)))
    return rows


def _personalized_values(page) -> Iterator[tuple[str, Any]]:
    """(block id, PersonalizedBlock value) for each region at the top level of the page's StreamFields."""
    for f in stream_fields(page):
        value = getattr(page, f.attname, None)
        for child in value or []:
            if isinstance(child.block, PersonalizedBlock) and child.id:
                yield child.id, child.value


def chosen_content(page, result: PagePersonalization, decision: Decision) -> Any:
    """The StreamValue the visitor would see in this slot (None when it cannot be located)."""
    slot = result.compiled.slot(decision.slot_id)
    for block_id, value in _personalized_values(page):
        if block_id != decision.slot_id:
            continue
        if decision.variant_id == DEFAULT_VARIANT:
            return value.get("default")
        ids = [v.id for v in slot.variants] if slot else []
        if decision.variant_id in ids:
            variants = value.get("variants") or []
            index = ids.index(decision.variant_id)
            if index < len(variants):
                return variants[index].get("content")
    return None


def format_value(value: Any, segment_names: Mapping[str, str] | None = None) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return pgettext("fact value", "yes") if value else pgettext("fact value", "no")
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        names = segment_names or {}
        items = sorted(names.get(v, v) for v in value)
        return ", ".join(items) if items else pgettext("fact value", "none")
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(v) for v in value) or pgettext("fact value", "none")
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {format_value(v)}" for k, v in value.items() if v is not None) or "—"
    return str(value)


def fact_rows(ctx: Context) -> list[FactRow]:
    names = segment_index().names
    rows = []
    for fact in sorted(ctx.facts(), key=lambda f: f.name):
        value = format_value(fact.value, names if fact.name == "segments" else None)
        rows.append(FactRow(fact.name, value, fact.source, fact.detail))
    return rows


def simulate(page, rc: RequestContext) -> Simulation:
    """Decide every slot of `page` (as given: a draft or unsaved preview object) in `rc`, explained."""
    result = personalize_page(page, rc, preview=True)
    slots = []
    for d in result.decisions:
        try:
            content = chosen_content(page, result, d)
        except Exception:  # a broken block value must not hide the explanation, which is the point
            content = None
        report = SlotReport(d, _slot_policy(result, d), variant_rows(d), d.variant_id == DEFAULT_VARIANT, content)
        slot = result.compiled.slot(d.slot_id)
        if slot is not None and slot.policy in WEIGHTED_POLICIES and not slot.paused:
            _add_shares(report, slot, result.context)
        if slot is not None and slot.policy in LEARNING_POLICIES and len(slot.variants) > 1:
            _weigh_evidence(report, slot)
        slots.append(report)
    notes = []
    if rc.text is not None and "emotion" not in result.compiled.facts:
        notes.append(gettext("The text was not classified: no variant of this page reads the emotion."))
    return Simulation(page, result, slots, fact_rows(result.context), result.context.local_now(), notes)


def _add_shares(report: SlotReport, slot: Slot, ctx: Context) -> None:
    """Each variant's current share for this visitor: the slot's published weights (an A/B slot's
    own weights before any), limited to the variants whose conditions match, as the decision uses
    them (`allocation.restrict`); a variant that does not match gets none."""
    try:
        _bucket, weights = feedback().allocation(slot, ctx)
    except Exception:  # the stats store is down: say nothing rather than something unfounded
        return
    if weights is None and slot.policy == POLICY_AB:
        weights = {v.id: v.weight for v in slot.variants}
    eligible = [e.variant_id for e in report.decision.evaluations if e.matched]
    shares = restrict(weights, eligible)
    ids = [e.variant_id for e in report.decision.evaluations]
    for row, variant_id in zip(report.rows, ids, strict=False):
        row.share = shares.get(variant_id, 0.0)
    report.weighted = True


def _template_prefix(template: str) -> str:
    """The words of a translated reason before its share ("Best so far: " in English)."""
    return template.split("%(share)s")[0]


def _weigh_evidence(report: SlotReport, slot: Slot) -> None:
    """The minimum-sample guard rail: say what the slot's stats hold, and unless they are enough to
    call a variant best (`statistics.analyse`: the leader's and every variant's minimum sample),
    word a "Best so far" reason as the exploring it is (before any traffic, an even split's noise
    would otherwise crown an arm at 34%)."""
    try:
        stats = stats_store().slot_stats(slot.id).get(GLOBAL_BUCKET, {})
    except Exception:  # the stats store is down: say nothing rather than something unfounded
        return
    reward = slot.options.get("reward") or KIND_CONVERSION
    arms = [
        ArmCounts(
            v.id, v.name, (st := stats.get(v.id, ArmStats())).impressions, min(st.successes(reward), st.impressions)
        )
        for v in slot.variants
    ]
    analysis = analyse(arms, arms[0].id, draws=4_000)
    report.evidence_ready = analysis.leader is not None
    if analysis.leader is not None:
        report.evidence = gettext(
            "%(impressions)s impressions so far; %(name)s leads (%(p_best)s probability of being best)"
        ) % {
            "impressions": analysis.impressions,
            "name": analysis.leader.counts.name,
            "p_best": f"{analysis.leader.p_best:.0%}",
        }
        return
    report.evidence = gettext(
        "%(impressions)s impressions so far: too early to call any variant best (the leader needs %(n)s "
        "impressions and %(c)s conversions, every variant %(any)s impressions)"
    ) % {
        "impressions": analysis.impressions,
        "n": analysis.min_impressions,
        "c": analysis.min_conversions,
        "any": analysis.min_impressions_any,
    }
    best = _template_prefix(gettext("Best so far: %(share)s share (%(method)s)"))
    exploring = _template_prefix(gettext("Exploring: %(share)s share (%(method)s)"))
    reasons = tuple(exploring + r[len(best) :] if r.startswith(best) else r for r in report.decision.reasons)
    report.decision = dataclasses.replace(report.decision, reasons=reasons)


def _slot_policy(result: PagePersonalization, d: Decision) -> str:
    slot = result.compiled.slot(d.slot_id)
    return slot.policy if slot else d.policy


def emotion_from_text(sim: Simulation) -> dict | None:
    """The classifier's reading of the text (label and confidence, not the text) for the session."""
    fact = sim.result.context.fact("emotion")
    if fact is None or fact.source != "provider":
        return None
    value = fact.value or {}
    return {"label": value.get("label"), "confidence": value.get("confidence")}


def revision_note(page, use_live: bool) -> str:
    """Which version of the page the simulation used, in the editor's words."""
    if use_live or not page.latest_revision_id:
        return gettext("the published version") if page.live else gettext("the saved page (never published)")
    revision = page.latest_revision
    words = {"number": revision.pk, "when": revision.created_at.strftime("%Y-%m-%d %H:%M")}
    if revision.pk == page.live_revision_id:
        return gettext("revision #%(number)s of %(when)s (published)") % words
    return gettext("revision #%(number)s of %(when)s, a draft that is not published") % words


# --- the admin view ----------------------------------------------------------------------------


def simulator_url(page_id: int | None = None) -> str:
    url = reverse("tailor_simulator:index")
    return f"{url}?{urlencode({'page': page_id})}" if page_id else url


class SimulatorView(WagtailAdminTemplateMixin, FormView):
    """Pick a page and a context; see each slot's decision with the variants that lost and why.

    Results come back on the POST rather than a GET with the context in the query string: the text
    signal must not end up in server access logs.
    """

    template_name = "tailor_cms/simulator/index.html"
    form_class = SimulatorForm
    page_title = _("Personalization simulator")
    header_icon = "view"
    success_url = reverse_lazy("tailor_simulator:index")

    def dispatch(self, request, *args, **kwargs):
        if not user_has_any_page_permission(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [{"url": "", "label": self.get_page_title()}]

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["user"] = self.request.user
        return kwargs

    def post(self, request, *args, **kwargs):
        if "reset" in request.POST:  # forget the stored context: every field back to empty
            request.session.pop(SESSION_KEY, None)
            page = request.POST.get("page", "")
            return redirect(simulator_url(int(page)) if page.isdigit() else simulator_url())
        return super().post(request, *args, **kwargs)

    def get_initial(self):
        initial = {"revision": "latest"}
        stored = self.request.session.get(SESSION_KEY) or {}
        initial.update({k: v for k, v in stored.items() if k != "emotion_from_text"})
        page_id = self.request.GET.get("page")
        if page_id and page_id.isdigit():
            initial["page"] = int(page_id)
        return initial

    def form_valid(self, form):
        page = form.cleaned_data["page"].specific
        use_live = form.cleaned_data["revision"] == "live"
        shown = page if use_live else page.get_latest_revision_as_object()
        try:
            sim = simulate(shown, form.request_context)
        except Exception as e:
            if form.request_context.text is None:
                raise
            # The classifier (a model loaded from disk) failed on the text: say so at the field.
            # Nothing is logged, since the exception might quote the text.
            form.add_error(
                "text",
                gettext("The emotion classifier could not read this text (%(error)s); choose an emotion instead")
                % {"error": type(e).__name__},
            )
            return self.form_invalid(form)
        stored = form.session_data()
        reading = emotion_from_text(sim)
        if reading:
            stored["emotion_from_text"] = reading
        self.request.session[SESSION_KEY] = stored
        context = self.get_context_data(
            form=form,
            simulation=sim,
            page=page,
            revision_note=revision_note(page, use_live),
            edit_url=reverse("wagtailadmin_pages:edit", args=[page.pk]),
        )
        return self.render_to_response(context)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["has_pages"] = context["form"].fields["page"].queryset.exists()
        return context


# --- the page preview mode ---------------------------------------------------------------------


def preview_context(request, page) -> dict[str, Any]:
    """Template context for `PersonalizationPreviewMixin`'s preview mode.

    Replays the context the editor last simulated (from their session) through the same form, so it
    is validated as it was then; without one (or if it no longer validates, e.g. a segment was
    deleted) a visitor right now in the site's default timezone.
    """
    session = getattr(request, "session", None)
    stored = dict(session.get(SESSION_KEY) or {}) if session is not None else {}
    reading = stored.pop("emotion_from_text", None)
    stored.pop("page", None)
    notes = []
    form = SimulatorForm(data=stored or {"timezone": default_timezone()}, with_page=False)
    if not form.is_valid():
        notes.append(
            gettext("The context last set in the simulator is no longer valid; showing a visitor right now instead.")
        )
        stored, reading = {}, None
        form = SimulatorForm(data={"timezone": default_timezone()}, with_page=False)
        form.is_valid()
    rc = form.request_context
    if reading and reading.get("label") and not form.cleaned_data.get("emotion"):
        detail = gettext("read from the text given in the simulator (the text itself is not kept)")
        rc.ctx = rc.ctx.with_facts(Fact("emotion", reading, SOURCE_SIMULATOR, detail))
    inputs = [(form[name].label, format_value(value)) for name, value in stored.items() if name in form.fields]
    sim = simulate(page, rc)
    sim.notes[:0] = notes
    return {
        "page": page,
        "simulation": sim,
        "inputs": inputs,
        "using_default": not stored,
        "default_timezone": default_timezone(),
        "change_url": simulator_url(page.pk),
    }
