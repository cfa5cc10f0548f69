"""The Segments admin (a snippet viewset): listing, editing, and the discovered proposals' workflow.

- the slug follows the name as it is typed (Wagtail's page-title/slug sync) and is filled on save
  when left empty;
- discovered proposals explain how they pick their members (there are no conditions to edit);
- "Run discovery" enqueues `rules.tasks.discover_segments_task` (django-tasks) and shows a status
  page that polls until the run is done; each proposal can then be approved (named and enabled)
  or dismissed.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import slugify
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView
from django_tasks import TaskResultStatus
from django_tasks.exceptions import TaskResultDoesNotExist
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.panels import FieldPanel, MultiFieldPanel, ObjectList, Panel, TitleFieldPanel
from wagtail.admin.ui.tables import BooleanColumn, Column
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.widgets import HeaderButton, ListingButton
from wagtail.admin.widgets.slug import SlugInput
from wagtail.snippets.views.snippets import IndexView, SnippetViewSet

from rules.models import Segment
from rules.segments import membership_explanation
from rules.tasks import discover_segments_task

#: where the status page finds a finished run when the task backend cannot look results up (immediate)
SESSION_RUNS = "tailor_discovery_runs"


def unique_slug(name: str, exclude_pk=None) -> str:
    """A slug for `name` no other segment has (`segment` when the name has no Latin letters or digits)."""
    base = slugify(name)[:90] or "segment"
    taken = set(Segment.objects.exclude(pk=exclude_pk).filter(slug__startswith=base).values_list("slug", flat=True))
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


class SegmentForm(WagtailAdminModelForm):
    """The slug may be left empty: it is made from the name."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "slug" in self.fields:
            self.fields["slug"].required = False
            self.fields["slug"].help_text = _("Used in rules and in the API; made from the name when left empty")

    def clean(self):
        cleaned = super().clean()
        if "slug" in self.fields and not cleaned.get("slug") and cleaned.get("name"):
            cleaned["slug"] = unique_slug(cleaned["name"], exclude_pk=self.instance.pk)
            self.instance.slug = cleaned["slug"]
            self.errors.pop("slug", None)
        return cleaned


def _discovered(instance) -> bool:
    return getattr(instance, "kind", None) == Segment.KIND_DISCOVERED


class RulesOnlyFieldPanel(FieldPanel):
    """A field that means something for rule-defined segments only."""

    class BoundPanel(FieldPanel.BoundPanel):
        def is_shown(self):
            return not _discovered(self.instance) and super().is_shown()


class DiscoveredOnlyFieldPanel(FieldPanel):
    class BoundPanel(FieldPanel.BoundPanel):
        def is_shown(self):
            return _discovered(self.instance) and super().is_shown()


class MembershipPanel(Panel):
    """How a discovered segment picks its members (in place of the conditions it does not have)."""

    class BoundPanel(Panel.BoundPanel):
        def is_shown(self):
            return _discovered(self.instance) and bool(self.instance.pk)

        def render_html(self, parent_context=None):
            return format_html(
                '<section class="help-block help-info" data-tailor-membership><h3>{}</h3><p>{}</p></section>',
                gettext("How members are chosen"),
                membership_explanation(self.instance),
            )


SEGMENT_PANELS = [
    MultiFieldPanel(
        [
            TitleFieldPanel("name", placeholder=False, apply_if_live=True),
            FieldPanel("slug", widget=SlugInput(attrs={"data-w-slug-allow-unicode-value": "false"})),
            FieldPanel("description"),
        ],
        heading=_("Segment"),
    ),
    FieldPanel("enabled"),
    DiscoveredOnlyFieldPanel(
        "summary",
        read_only=True,
        help_text=_(
            "Written by discovery from the group's typical visitor: their main device and time of day, "
            "how many times they came, and the sections they read more than visitors overall"
        ),
    ),
    MembershipPanel(),
    RulesOnlyFieldPanel("match"),
    RulesOnlyFieldPanel("conditions"),
]


class SegmentIndexView(IndexView):
    """Adds "Run discovery" to the header and Approve / Dismiss to each proposal."""

    #: set by `SegmentViewSet` (its URL names)
    discover_url_name = None
    approve_url_name = None
    dismiss_url_name = None

    @property
    def header_buttons(self):
        buttons = list(super().header_buttons)
        if self.permission_policy.user_has_permission(self.request.user, "add"):
            buttons.append(
                HeaderButton(
                    gettext("Run discovery"),
                    url=reverse(self.discover_url_name),
                    icon_name="crosshairs",
                    attrs={"data-tailor-run-discovery": ""},
                )
            )
        return buttons

    def get_list_more_buttons(self, instance):
        buttons = list(super().get_list_more_buttons(instance))
        if _discovered(instance) and not instance.enabled:
            user = self.request.user
            if self.permission_policy.user_has_permission_for_instance(user, "change", instance):
                buttons.insert(
                    0,
                    ListingButton(
                        gettext("Approve"),
                        url=reverse(self.approve_url_name, args=[instance.pk]),
                        icon_name="check",
                        priority=1,
                        attrs={"data-tailor-approve": instance.slug},
                    ),
                )
            if self.permission_policy.user_has_permission_for_instance(user, "delete", instance):
                buttons.insert(
                    1,
                    ListingButton(
                        gettext("Dismiss"),
                        url=reverse(self.dismiss_url_name, args=[instance.pk]),
                        icon_name="cross",
                        priority=2,
                        attrs={"data-tailor-dismiss": instance.slug},
                    ),
                )
        return buttons


def kind_text(segment: Segment) -> str:
    if _discovered(segment):
        return gettext("Proposal (discovered)") if not segment.enabled else gettext("Discovered")
    return gettext("Rule-defined")


class SegmentViewSet(SnippetViewSet):
    model = Segment
    icon = "group"
    menu_label = _("Segments")
    menu_name = "tailor-segments"
    menu_order = 100
    index_view_class = SegmentIndexView
    list_display = [
        "name",
        "slug",
        Column("kind", label=_("Kind"), accessor=kind_text),
        BooleanColumn("enabled", label=_("Enabled")),
        "updated_at",
    ]
    list_filter = ["kind", "enabled"]
    search_fields = ["name", "slug", "description", "summary"]
    ordering = ["name"]
    edit_handler = ObjectList(SEGMENT_PANELS, base_form_class=SegmentForm)

    def get_menu_item_is_registered(self):
        # Segments live in the Tailor menu, and are also listed in the Snippets index (which otherwise
        # has no snippet type left to show and answers "you do not have permission").
        return False

    def get_common_view_kwargs(self, **kwargs):
        return super().get_common_view_kwargs(
            **{
                "discover_url_name": self.get_url_name("discover"),
                "approve_url_name": self.get_url_name("approve"),
                "dismiss_url_name": self.get_url_name("dismiss"),
                **kwargs,
            }
        )

    def get_urlpatterns(self):
        views = {
            "permission_policy": self.permission_policy,
            "index_url_name": self.get_url_name("list"),
            "status_url_name": self.get_url_name("discovery_status"),
        }
        return super().get_urlpatterns() + [
            path("discover/", RunDiscoveryView.as_view(**views), name="discover"),
            path("discover/<str:result_id>/", DiscoveryStatusView.as_view(**views), name="discovery_status"),
            path("approve/<int:pk>/", ApproveProposalView.as_view(**views), name="approve"),
            path("dismiss/<int:pk>/", DismissProposalView.as_view(**views), name="dismiss"),
        ]


# --- discovery and proposals -------------------------------------------------------------------


class _SegmentAdminView(WagtailAdminTemplateMixin, TemplateView):
    permission_policy = None
    index_url_name = None
    status_url_name = None
    required = "add"
    header_icon = "group"

    def dispatch(self, request, *args, **kwargs):
        if not self.permission_policy.user_has_permission(request.user, self.required):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [
            {"url": reverse(self.index_url_name), "label": gettext("Segments")},
            {"url": "", "label": self.get_page_title()},
        ]


class DiscoveryForm(forms.Form):
    clusters = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=20,
        label=_("Number of groups"),
        help_text=_("Empty: chosen from the data (2 to 6)"),
    )
    min_profiles = forms.IntegerField(
        initial=50,
        min_value=4,
        label=_("Fewest profiles"),
        help_text=_("Refuse to cluster fewer consented visitor profiles than this"),
    )


class RunDiscoveryView(_SegmentAdminView):
    """GET: what discovery does, and its options. POST: enqueue the task, go to its status page."""

    template_name = "tailor_rules/segments/run_discovery.html"
    page_title = _("Run segment discovery")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", DiscoveryForm())
        context["proposals"] = Segment.objects.filter(kind=Segment.KIND_DISCOVERED, enabled=False).count()
        return context

    def post(self, request, *args, **kwargs):
        form = DiscoveryForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        result = discover_segments_task.enqueue(
            clusters=form.cleaned_data.get("clusters"), min_profiles=form.cleaned_data["min_profiles"]
        )
        if result.is_finished:  # an immediate backend ran it already; keep it for the status page
            runs = request.session.get(SESSION_RUNS) or {}
            runs = dict(list(runs.items())[-4:])
            runs[str(result.id)] = {"status": str(result.status), "value": result.return_value}
            request.session[SESSION_RUNS] = runs
        return redirect(self.status_url_name, result_id=result.id)


def _run_state(request, result_id: str) -> dict | None:
    """{status, finished, value, error} of a discovery run, from the task backend or the session."""
    stored = (request.session.get(SESSION_RUNS) or {}).get(result_id)
    if stored is not None:
        status, value = stored["status"], stored["value"]
    else:
        try:
            result = discover_segments_task.get_result(result_id)
        except (TaskResultDoesNotExist, NotImplementedError, ValueError):
            return None
        except Exception:  # a malformed id, another task's id
            return None
        status = str(result.status)
        value = result.return_value if result.status == TaskResultStatus.SUCCESSFUL else None
    labels = {
        TaskResultStatus.READY: gettext("Waiting for a worker…"),
        TaskResultStatus.RUNNING: gettext("Clustering visitor profiles…"),
        TaskResultStatus.SUCCESSFUL: gettext("Done"),
        TaskResultStatus.FAILED: gettext("Failed"),
    }
    finished = status in (TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED)
    error = (value or {}).get("error") or ("" if status != TaskResultStatus.FAILED else gettext("The task failed."))
    return {
        "status": status,
        "label": labels.get(status, status),
        "finished": finished,
        "value": value or {},
        "error": error,
    }


class DiscoveryStatusView(_SegmentAdminView):
    """The run's progress; polls itself (as JSON) until the run is finished."""

    template_name = "tailor_rules/segments/discovery_status.html"
    page_title = _("Segment discovery")

    def get(self, request, *args, result_id: str, **kwargs):
        state = _run_state(request, result_id)
        if state is None:
            raise Http404
        if request.GET.get("format") == "json":
            return JsonResponse({k: state[k] for k in ("status", "label", "finished", "error")})
        context = self.get_context_data(state=state, result_id=result_id)
        context["index_url"] = reverse(self.index_url_name)
        context["proposals_url"] = f"{context['index_url']}?kind={Segment.KIND_DISCOVERED}&enabled=false"
        return self.render_to_response(context)


class ApproveForm(forms.Form):
    name = forms.CharField(max_length=100, label=_("Name"), help_text=_("What editors will see in targeting rules"))

    def __init__(self, *args, segment: Segment, **kwargs):
        super().__init__(*args, **kwargs)
        self.segment = segment

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if Segment.objects.exclude(pk=self.segment.pk).filter(name=name).exists():
            raise forms.ValidationError(gettext("A segment with this name already exists"))
        return name


class ApproveProposalView(_SegmentAdminView):
    """Name a proposal and enable it: it becomes a segment rules can target."""

    template_name = "tailor_rules/segments/approve.html"
    page_title = _("Approve a proposed segment")
    required = "change"

    def get_segment(self, pk):
        return get_object_or_404(Segment, pk=pk, kind=Segment.KIND_DISCOVERED)

    def get(self, request, *args, pk, **kwargs):
        segment = self.get_segment(pk)
        form = ApproveForm(initial={"name": segment.summary[:1].upper() + segment.summary[1:]}, segment=segment)
        return self.render_to_response(self._context(segment, form))

    def _context(self, segment, form):
        return self.get_context_data(
            segment=segment,
            form=form,
            explanation=membership_explanation(segment),
            index_url=reverse(self.index_url_name),
        )

    def post(self, request, *args, pk, **kwargs):
        segment = self.get_segment(pk)
        form = ApproveForm(request.POST, segment=segment)
        if not form.is_valid():
            return self.render_to_response(self._context(segment, form))
        segment.name = form.cleaned_data["name"]
        segment.slug = unique_slug(segment.name, exclude_pk=segment.pk)
        segment.enabled = True
        segment.save()
        messages.success(
            request,
            gettext("“%(name)s” is approved: rules can now target it (%(slug)s).")
            % {"name": segment.name, "slug": segment.slug},
        )
        return redirect(self.index_url_name)


class DismissProposalView(ApproveProposalView):
    template_name = "tailor_rules/segments/dismiss.html"
    page_title = _("Dismiss a proposed segment")
    required = "delete"

    def get_segment(self, pk):
        return get_object_or_404(Segment, pk=pk, kind=Segment.KIND_DISCOVERED, enabled=False)

    def get(self, request, *args, pk, **kwargs):
        segment = self.get_segment(pk)
        return self.render_to_response(self._context(segment, None))

    def post(self, request, *args, pk, **kwargs):
        segment = self.get_segment(pk)
        summary = segment.summary
        segment.delete()
        messages.success(request, gettext("Dismissed the proposal “%(summary)s”.") % {"summary": summary})
        return redirect(self.index_url_name)
