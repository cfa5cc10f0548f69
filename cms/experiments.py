"""A/B test reviews: the Experiments report (under Reports) and each experiment's detail page.

An experiment is a slot with two or more variants on a live page (`variants.models.Experiment`, one
row per slot, kept in step by `sync_experiments`). Its review reads the hourly aggregates of the event
log (`EventAggregate`: impressions, the slot's success kind, and the inverse-propensity sums that
undo a bandit's adaptive allocation) from the experiment's `started_at` on, and hands the counts to
the pure statistics engine (`variants.engine.statistics.analyse`). Nothing here computes a
statistic itself.

Who may see it: users with the "Can review experiments" permission (``tailor_variants.review_experiment``),
which is separate from editing pages. Pausing and resuming change what the live page shows at once, so
they also need the permission to publish the page; declaring a winner needs the permission to edit it.
"""

from __future__ import annotations

import csv

import django_filters
from django import forms
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.ui.tables import Column, TitleColumn
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.views.reports import ReportView
from wagtail.models import Page, PageLogEntry
from wagtail.permission_policies import ModelPermissionPolicy

from cms.experiment_charts import ChartSeries, line_chart_png, line_chart_svg
from rules.journeys import likelihood_spread
from rules.models import Segment
from variants.engine.decide import audience_value_words
from variants.engine.vocabulary import (
    POLICY_AB,
    POLICY_LABELS,
    SLOT_POLICIES,
)
from variants.experiments import (
    Breakdown,
    ExperimentActionError,
    Review,
    breakdowns,
    declare_winner,
    live_slot,
    near_duplicates,
    pause_experiment,
    reset_experiment,
    resume_experiment,
    sync_experiments,
)
from variants.experiments import review as review_of
from variants.models import EventAggregate, Experiment

#: the detail table's CSV columns, in this order (the issue's contract)
CSV_COLUMNS = (
    "variant",
    "impressions",
    "conversions",
    "conversion_rate",
    "ci_low",
    "ci_high",
    "uplift",
    "p_best",
    "expected_loss",
    "p_value",
)

permission_policy = ModelPermissionPolicy(Experiment)


def can_review(user) -> bool:
    return permission_policy.user_has_permission(user, "review")


# --- the report --------------------------------------------------------------------------------


class ExperimentFilterSet(WagtailFilterSet):
    page = django_filters.ModelChoiceFilter(
        label=_("Page"),
        field_name="page",
        queryset=lambda request: Page.objects.filter(tailor_experiments__isnull=False).distinct(),
        empty_label=_("Any page"),
    )
    policy = django_filters.ChoiceFilter(
        label=_("Policy"), choices=[(p, _(POLICY_LABELS[p])) for p in SLOT_POLICIES], empty_label=_("Any policy")
    )
    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=Experiment.STATUS_CHOICES, empty_label=_("Any status")
    )
    traffic = django_filters.DateFromToRangeFilter(
        label=_("Traffic between"), widget=DateRangePickerWidget, method="filter_traffic"
    )

    class Meta:
        model = Experiment
        fields = ["page", "policy", "status"]

    def filter_traffic(self, queryset, name, value):
        hours = EventAggregate.objects.all()
        if value.start:
            hours = hours.filter(hour__date__gte=value.start)
        if value.stop:
            hours = hours.filter(hour__date__lte=value.stop)
        if not (value.start or value.stop):
            return queryset
        return queryset.filter(slot_id__in=hours.values("slot_id"))


class ValueColumn(Column):
    """A column whose value a `Review` attached to the row provides."""

    def __init__(self, name, getter, **kwargs):
        super().__init__(name, **kwargs)
        self.getter = getter

    def get_value(self, instance):
        return self.getter(instance.review)


def _leader_text(r: Review) -> str:
    a = r.analysis
    if a is None:
        return "—"
    if a.leader is None:
        return gettext("Too early to tell")
    return a.leader.counts.name


def _p_best_text(r: Review) -> str:
    a = r.analysis
    return f"{a.leader.p_best:.0%}" if a and a.leader else "—"


def decision_text(r: Review) -> str:
    a = r.analysis
    if a is None:
        return gettext("No traffic yet")
    if a.srm and a.srm.mismatch:
        return gettext("No: the split does not match its weights (sample ratio mismatch)")
    if not a.ready:
        return gettext(
            "Not yet: the leading variant needs %(n)s impressions and %(c)s conversions, every variant %(any)s impressions"
        ) % {"n": a.min_impressions, "c": a.min_conversions, "any": a.min_impressions_any}
    if a.winner is not None:
        return gettext("Yes: %(name)s wins") % {"name": a.winner.counts.name}
    return gettext("Not yet: no variant is clearly best")


class ExperimentsReportView(ReportView):
    page_title = _("Experiments")
    header_icon = "crosshairs"
    index_url_name = "tailor_experiments:index"
    index_results_url_name = "tailor_experiments:index_results"
    filterset_class = ExperimentFilterSet
    permission_policy = permission_policy
    permission_required = "review"
    results_template_name = "tailor_cms/experiments/index_results.html"
    list_export = ["page", "slot_name", "policy", "status", "visitors", "leader", "p_best", "decision"]
    export_headings = {
        "page": _("Page"),
        "slot_name": _("Slot"),
        "policy": _("Policy"),
        "status": _("Status"),
        "visitors": _("Visitors"),
        "leader": _("Leading variant"),
        "p_best": _("Probability of being best"),
        "decision": _("Can a decision be made?"),
    }

    @cached_property
    def columns(self):
        return [
            TitleColumn(
                "slot_name",
                label=_("Slot"),
                url_name="tailor_experiments:detail",
                id_accessor="pk",
            ),
            Column("page", label=_("Page")),
            ValueColumn("policy", lambda r: gettext(POLICY_LABELS.get(r.experiment.policy, "")), label=_("Policy")),
            ValueColumn("status", lambda r: r.experiment.get_status_display(), label=_("Status")),
            ValueColumn("visitors", lambda r: r.visitors, label=_("Visitors")),
            ValueColumn("leader", _leader_text, label=_("Leading variant")),
            ValueColumn("p_best", _p_best_text, label=_("Probability of being best")),
            ValueColumn("decision", decision_text, label=_("Can a decision be made?")),
        ]

    def get_queryset(self):
        sync_experiments()
        return Experiment.objects.select_related("page").order_by("page__path", "slot_name")

    def decorate_paginated_queryset(self, object_list):
        for experiment in object_list:
            experiment.review = review_of(experiment, draws=20_000)
        return object_list

    def to_row_dict(self, item):
        r = review_of(item, draws=20_000)
        return {
            "page": item.page.title,
            "slot_name": item.slot_name,
            "policy": item.policy,
            "status": item.get_status_display(),
            "visitors": r.visitors,
            "leader": _leader_text(r),
            "p_best": _p_best_text(r),
            "decision": decision_text(r),
        }

    def get_filename(self):
        return f"tailor-experiments-{timezone.now():%Y-%m-%d}"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["likelihood"] = likelihood_rows()
        return context


#: how long the report keeps the likelihood spread (it reads up to LIKELIHOOD_PROFILES profiles)
LIKELIHOOD_CACHE_SECONDS = 600
LIKELIHOOD_PROFILES = 2000


def likelihood_rows() -> list[dict]:
    """How the predicted likelihood to convert spreads across devices and segments (the most recent
    consented journeys), as rows for the report: a threshold or stage that shuts a group out shows up
    as a low mean or share. Cached for a few minutes: it reads profiles, not aggregates."""
    spread = cache.get("tailor:experiments:likelihood")
    if spread is None:
        spread = likelihood_spread(limit=LIKELIHOOD_PROFILES)
        cache.set("tailor:experiments:likelihood", spread, LIKELIHOOD_CACHE_SECONDS)
    names = dict(Segment.objects.values_list("slug", "name"))
    rows = []
    for group, label in (("device", gettext("Device")), ("segment", gettext("Segment"))):
        for value, g in sorted(spread.get(group, {}).items(), key=lambda item: -item[1]["n"]):
            name = names.get(value, value) if group == "segment" else value
            rows.append({"group": label, "value": name, **g})
    return rows


# --- the detail page -------------------------------------------------------------------------------


def _fmt_pct(x: float | None, digits: int = 1) -> str:
    return "—" if x is None else f"{x * 100:.{digits}f}%"


def csv_rows(r: Review) -> list[dict]:
    rows = []
    for arm in r.analysis.arms if r.analysis else ():
        rows.append(
            {
                "variant": arm.counts.name,
                "impressions": arm.counts.impressions,
                "conversions": arm.counts.conversions,
                "conversion_rate": "" if arm.rate is None else f"{arm.rate:.6f}",
                "ci_low": f"{arm.ci_low:.6f}",
                "ci_high": f"{arm.ci_high:.6f}",
                "uplift": "" if arm.uplift is None else f"{arm.uplift.value:.6f}",
                "p_best": f"{arm.p_best:.6f}",
                "expected_loss": f"{arm.expected_loss:.6f}",
                "p_value": "" if arm.p_value is None else f"{arm.p_value:.6g}",
            }
        )
    return rows


def chart_series(r: Review) -> tuple[list[ChartSeries], list[ChartSeries]]:
    """Cumulative conversion rate and hourly allocation share per arm, one point per hour."""
    if not r.analysis:
        return [], []
    ids = [a.id for a in r.analysis.arms]
    names = {a.id: a.counts.name for a in r.analysis.arms}
    rate = {i: [] for i in ids}
    share = {i: [] for i in ids}
    running = {i: [0, 0] for i in ids}
    for hour, arms in r.hourly.items():
        total = sum(max(n, c) for n, c in arms.values()) or 1
        for i in ids:
            n, c = arms.get(i, (0, 0))
            running[i][0] += max(n, c)
            running[i][1] += c
            if running[i][0]:
                rate[i].append((hour, running[i][1] / running[i][0]))
            share[i].append((hour, max(n, c) / total))
    return (
        [ChartSeries(names[i], rate[i]) for i in ids],
        [ChartSeries(names[i], share[i]) for i in ids],
    )


#: how the breakdowns name their dimensions (their values are worded as decisions word them)
_DIMENSION_LABELS = {
    "device": lambda: gettext("By device"),
    "daypart": lambda: gettext("By time of day (the visitor's clock)"),
    "segment": lambda: gettext("By segment"),
}


def _value_label(dimension: str, value: str, segment_names: dict[str, str]) -> str:
    if value == "?":
        return gettext("unknown") if dimension != "segment" else gettext("unknown (no consent)")
    if dimension == "segment":
        return segment_names.get(value, value) if value else gettext("in no segment")
    return audience_value_words(dimension, value)  # the words decisions' reasons use


def _verdict(a) -> str:
    if a is None:
        return gettext("No impressions")
    if not a.ready:
        return gettext("Too little data to tell")
    if a.winner is not None:
        return gettext("%(name)s wins here") % {"name": a.winner.counts.name}
    return gettext("%(name)s leads; not clearly best") % {"name": a.leader.counts.name}


def breakdown_tables(r: Review, parts: list[Breakdown]) -> list[dict]:
    """The breakdowns as the detail page shows them: per dimension, one row per audience with each
    arm's rate and interval, and a verdict that calls a winner only with enough data."""
    if r.analysis is None:
        return []
    from rules.segments import segment_index  # the segments' names, as editors know them

    names = segment_index().names
    arms = [(a.id, a.counts.name) for a in r.analysis.arms]
    tables = []
    for part in parts:
        rows = []
        for cell in part.cells:
            a = cell.analysis
            per_arm = []
            for arm_id, _name in arms:
                res = next((x for x in a.arms if x.id == arm_id), None) if a else None
                if res is None or not res.counts.impressions:
                    per_arm.append({"rate": "—", "ci": "", "n": 0, "c": 0})
                    continue
                per_arm.append(
                    {
                        "rate": _fmt_pct(res.rate, 1),
                        "ci": f"{_fmt_pct(res.ci_low, 1)} – {_fmt_pct(res.ci_high, 1)}",
                        "n": res.counts.impressions,
                        "c": res.counts.conversions,
                        "winner": a.winner is not None and a.winner.id == arm_id,
                    }
                )
            rows.append(
                {
                    "value": cell.value,
                    "label": _value_label(part.dimension, cell.value, names),
                    "impressions": a.impressions if a else 0,
                    "arms": per_arm,
                    "verdict": _verdict(a),
                    "has_winner": a is not None and a.winner is not None,
                }
            )
        tables.append(
            {
                "dimension": part.dimension,
                "title": _DIMENSION_LABELS[part.dimension](),
                "arms": [n for _i, n in arms],
                "rows": rows,
                "comparisons": part.comparisons,
                "confidence": f"{part.confidence * 100:.4g}%",
            }
        )
    return tables


class ExperimentDetailView(WagtailAdminTemplateMixin, TemplateView):
    template_name = "tailor_cms/experiments/detail.html"
    header_icon = "crosshairs"

    def dispatch(self, request, *args, **kwargs):
        if not can_review(request.user):
            raise PermissionDenied
        self.experiment = get_object_or_404(Experiment.objects.select_related("page"), pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    @cached_property
    def review(self) -> Review:
        return review_of(self.experiment)

    def get_page_title(self):
        return gettext("Experiment: %(slot)s") % {"slot": self.experiment.slot_name}

    def get_page_subtitle(self):
        return self.experiment.page.title

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [
            {"url": reverse("tailor_experiments:index"), "label": gettext("Experiments")},
            {"url": "", "label": self.experiment.slot_name},
        ]

    def get(self, request, *args, **kwargs):
        export = request.GET.get("export")
        if export == "csv":
            return self.csv_response()
        chart = request.GET.get("chart")
        if chart:
            return self.png_response(chart)
        if export:
            raise Http404(gettext("Unknown export format %(format)s") % {"format": export})
        return super().get(request, *args, **kwargs)

    def csv_response(self) -> HttpResponse:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        name = f"tailor-experiment-{self.experiment.slot_name}-{timezone.now():%Y-%m-%d}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        writer = csv.DictWriter(response, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(csv_rows(self.review))
        return response

    def png_response(self, which: str) -> HttpResponse:
        rate, share = chart_series(self.review)
        series = {"rate": rate, "share": share}.get(which)
        if series is None:
            raise Http404(gettext("Unknown chart %(chart)s") % {"chart": which})
        title = gettext("Conversion rate") if which == "rate" else gettext("Allocation share")
        response = HttpResponse(line_chart_png(series, title), content_type="image/png")
        response["Content-Disposition"] = f'attachment; filename="tailor-{self.experiment.slot_name}-{which}.png"'
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        r = self.review
        rate, share = chart_series(r)
        can_publish = self.experiment.page.permissions_for_user(self.request.user).can_publish()
        paused = self.experiment.status == Experiment.STATUS_PAUSED
        running = self.experiment.status == Experiment.STATUS_RUNNING
        context.update(
            breakdowns=breakdown_tables(r, breakdowns(r)),
            paused=paused,
            pause_url=reverse("tailor_experiments:pause", args=[self.experiment.pk])
            if can_publish and running and r.slot is not None and r.slot.variants
            else "",
            resume_url=reverse("tailor_experiments:resume", args=[self.experiment.pk])
            if can_publish and paused
            else "",
            experiment=self.experiment,
            review=r,
            analysis=r.analysis,
            decision=decision_text(r),
            rows=self.table_rows(r),
            rate_chart=line_chart_svg(rate, gettext("Conversion rate (cumulative)")) if rate else "",
            share_chart=line_chart_svg(share, gettext("Allocation share (per hour)")) if share else "",
            csv_url=f"{self.request.path}?export=csv",
            reset_url=reverse("tailor_experiments:reset", args=[self.experiment.pk]),
            winner_url=reverse("tailor_experiments:declare_winner", args=[self.experiment.pk])
            if self.experiment.page.permissions_for_user(self.request.user).can_edit()
            and r.slot is not None
            and r.slot.variants
            else "",
            edit_url=reverse("wagtailadmin_pages:edit", args=[self.experiment.page_id]),
            is_bandit=r.slot is not None and r.slot.policy != POLICY_AB,
            duplicates=near_duplicates(self.experiment),
            timeline=self.timeline(r),
            policy_label=gettext(POLICY_LABELS.get(self.experiment.policy, self.experiment.policy)),
        )
        return context

    def timeline(self, r: Review, limit: int = 20):
        """The page's history while the experiment counted (edits, publishes, this experiment's own
        actions), newest first: editing stays possible while it runs, and shows here."""
        entries = PageLogEntry.objects.filter(page_id=self.experiment.page_id).select_related("user")
        start = self.experiment.started_at or (min(r.hourly) if r.hourly else None)
        if start is not None:
            entries = entries.filter(timestamp__gte=start)
        return list(entries.order_by("-timestamp")[:limit])

    def table_rows(self, r: Review) -> list[dict]:
        a = r.analysis
        if a is None:
            return []
        rows = []
        for arm in a.arms:
            seq = arm.sequential
            rows.append(
                {
                    "arm": arm,
                    "is_control": arm.id == a.control_id,
                    "is_leader": a.leader is not None and arm.id == a.leader.id,
                    "is_winner": a.winner is not None and arm.id == a.winner.id,
                    "rate": _fmt_pct(arm.rate, 2),
                    "ci": f"{_fmt_pct(arm.ci_low, 2)} – {_fmt_pct(arm.ci_high, 2)}",
                    "uplift": _fmt_pct(arm.uplift.value) if arm.uplift else "—",
                    "uplift_ci": f"{_fmt_pct(arm.uplift.low)} – {_fmt_pct(arm.uplift.high)}" if arm.uplift else "",
                    "p_best": _fmt_pct(arm.p_best) if a.ready else "—",
                    "expected_loss": _fmt_pct(arm.expected_loss, 2) if a.ready else "—",
                    "p_value": "—" if arm.p_value is None else f"{arm.p_value:.3g}",
                    "seq_p": "—" if seq is None else f"{seq.p_value:.3g}",
                    "seq_ci": "" if seq is None else f"{seq.low * 100:+.2f} – {seq.high * 100:+.2f} pp",
                    "ipw": "—" if arm.ipw is None else _fmt_pct(arm.ipw.rate, 2),
                    "ipw_ci": "" if arm.ipw is None else f"{_fmt_pct(arm.ipw.low, 2)} – {_fmt_pct(arm.ipw.high, 2)}",
                    "share": _fmt_pct(arm.counts.share, 0),
                }
            )
        return rows


# --- actions -----------------------------------------------------------------------------------------


class DeclareWinnerForm(forms.Form):
    variant = forms.ChoiceField(label=_("Winning variant"))
    publish = forms.TypedChoiceField(
        label=_("Then"),
        choices=[("draft", _("Save the new version as a draft")), ("publish", _("Publish the new version"))],
        initial="draft",
        coerce=lambda v: v == "publish",
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, variants=(), can_publish=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["variant"].choices = list(variants)
        if not can_publish:
            self.fields["publish"].choices = self.fields["publish"].choices[:1]


class ExperimentActionView(WagtailAdminTemplateMixin, TemplateView):
    """Shared by the actions: the experiment, the review permission, and the page permission the
    action needs (None: reviewing is enough)."""

    page_action: str | None = None

    def dispatch(self, request, *args, **kwargs):
        if not can_review(request.user):
            raise PermissionDenied
        self.experiment = get_object_or_404(Experiment.objects.select_related("page"), pk=kwargs["pk"])
        self.page_perms = self.experiment.page.permissions_for_user(request.user)
        if self.page_action and not getattr(self.page_perms, f"can_{self.page_action}")():
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    @property
    def detail_url(self) -> str:
        return reverse("tailor_experiments:detail", args=[self.experiment.pk])

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [
            {"url": reverse("tailor_experiments:index"), "label": gettext("Experiments")},
            {"url": self.detail_url, "label": self.experiment.slot_name},
            {"url": "", "label": self.get_page_title()},
        ]

    def get_context_data(self, **kwargs):
        return super().get_context_data(experiment=self.experiment, detail_url=self.detail_url, **kwargs)


class ResetExperimentView(ExperimentActionView):
    template_name = "tailor_cms/experiments/confirm_reset.html"
    page_title = _("Reset the statistics")
    header_icon = "rotate"

    def post(self, request, *args, **kwargs):
        reset_experiment(self.experiment, request.user)
        messages.success(
            request,
            gettext("The statistics of %(slot)s were reset: counting starts now.")
            % {"slot": self.experiment.slot_name},
        )
        return redirect(self.detail_url)


class DeclareWinnerView(ExperimentActionView):
    template_name = "tailor_cms/experiments/declare_winner.html"
    page_title = _("Declare a winner")
    header_icon = "success"
    page_action = "edit"

    def get_form(self):
        slot = live_slot(self.experiment)
        if slot is None or not slot.variants:
            raise Http404(gettext("This slot has no variants to choose from"))
        r = review_of(self.experiment, draws=20_000)
        initial = {}
        if r.analysis and r.analysis.leader:
            initial["variant"] = r.analysis.leader.id
        return DeclareWinnerForm(
            self.request.POST or None,
            variants=[(v.id, v.name) for v in slot.variants],
            can_publish=self.page_perms.can_publish(),
            initial=initial,
        ), r

    def get_context_data(self, **kwargs):
        if "form" not in kwargs:
            form, r = self.get_form()
            kwargs.update(form=form, decision=decision_text(r))
        return super().get_context_data(**kwargs)

    def post(self, request, *args, **kwargs):
        form, r = self.get_form()
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form, decision=decision_text(r)))
        try:
            declare_winner(
                self.experiment, form.cleaned_data["variant"], request.user, publish=form.cleaned_data["publish"]
            )
        except ExperimentActionError as e:
            form.add_error(None, str(e))
            return self.render_to_response(self.get_context_data(form=form, decision=decision_text(r)))
        name = dict(form.fields["variant"].choices)[form.cleaned_data["variant"]]
        if form.cleaned_data["publish"]:
            text = gettext("%(variant)s is now the default of %(slot)s, published.")
        else:
            text = gettext("%(variant)s is now the default of %(slot)s in a new draft; publish the page to apply it.")
        messages.success(request, text % {"variant": name, "slot": self.experiment.slot_name})
        return redirect(self.detail_url)


class _StatusActionView(ExperimentActionView):
    """Pause or resume: a POST from the detail page's button (changes the live page: publish permission).
    `change(experiment, user)` is the service call; `done` the message saying what happened."""

    page_action = "publish"
    http_method_names = ["get", "post"]
    change: staticmethod
    done: str

    def get(self, request, *args, **kwargs):
        return redirect(self.detail_url)

    def post(self, request, *args, **kwargs):
        try:
            self.change(self.experiment, request.user)
        except ExperimentActionError as e:
            messages.error(request, str(e))
        else:
            messages.success(request, gettext(self.done) % {"slot": self.experiment.slot_name})
        return redirect(self.detail_url)


class PauseExperimentView(_StatusActionView):
    change = staticmethod(pause_experiment)
    done = gettext_noop(
        "%(slot)s is paused: every visitor sees the default content, and nothing is counted until you resume it."
    )


class ResumeExperimentView(_StatusActionView):
    change = staticmethod(resume_experiment)
    done = gettext_noop("%(slot)s is running again: the variants are shown and counted.")
