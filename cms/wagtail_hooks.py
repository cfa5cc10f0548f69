import graphene
from django.contrib.auth.models import Permission
from django.templatetags.static import static
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.viewsets.base import ViewSet, ViewSetGroup
from wagtail.admin.widgets import Button
from wagtail.log_actions import LogFormatter

from cms.experiments import (
    DeclareWinnerView,
    ExperimentDetailView,
    ExperimentsReportView,
    PauseExperimentView,
    ResetExperimentView,
    ResumeExperimentView,
    can_review,
)
from cms.forms import personalizable
from cms.overview import OverviewViewSet, PageEditorsMenuItem, TailorSegmentViewSet
from cms.views import SimulatorView, simulator_url
from cms.visitor_data import VisitorDataView, can_handle_visitor_data
from rules.schema import Mutation as RulesMutation
from rules.wagtail_hooks import JourneyStageViewSet
from variants.experiments import ACTION_PAUSE, ACTION_RESET, ACTION_RESUME, ACTION_WINNER
from variants.models import Experiment
from variants.schema import Mutation as VariantsMutation
from variants.schema import Query


@hooks.register("register_schema_query")
def register_tailor_queries(query_mixins):
    query_mixins.append(Query)


@hooks.register("insert_editor_css")
def editor_css():
    return format_html('<link rel="stylesheet" href="{}">', static("tailor_cms/css/editor.css"))


@hooks.register("register_schema_mutation")
def register_tailor_mutations(mutation_mixins):
    mutation_mixins.extend([RulesMutation, VariantsMutation])
    # grapple builds `class Mutation(*mixins)`, which must be an ObjectType: keep it the last base.
    if graphene.ObjectType in mutation_mixins:
        mutation_mixins.remove(graphene.ObjectType)
    mutation_mixins.append(graphene.ObjectType)


# --- The Tailor area of the admin menu: one group (a Wagtail ViewSetGroup) ----------------------
#
# Overview, Segments, Experiments and the Simulator are the group's view sets; other Tailor pages
# (Themes, ...) add a MenuItem to the group's submenu through the `register_tailor_menu_item` hook.

#: other Tailor admin pages add themselves to the "Tailor" submenu through this hook
TAILOR_MENU_HOOK = "register_tailor_menu_item"


class SimulatorViewSet(ViewSet):
    name = "tailor_simulator"
    url_prefix = "tailor/simulator"
    url_namespace = "tailor_simulator"
    icon = "view"
    menu_label = _("Simulator")
    menu_name = "tailor-simulator"
    menu_order = 300
    menu_item_class = PageEditorsMenuItem

    def get_urlpatterns(self):
        return [path("", SimulatorView.as_view(), name="index")]


class ExperimentsMenuItem(MenuItem):
    def is_shown(self, request):
        return can_review(request.user)


class ExperimentsViewSet(ViewSet):
    """A/B test reviews: the Experiments report and each experiment's detail."""

    name = "tailor_experiments"
    url_prefix = "tailor/experiments"
    url_namespace = "tailor_experiments"
    icon = "crosshairs"
    menu_label = _("Experiments")
    menu_name = "tailor-experiments"
    menu_order = 200
    menu_item_class = ExperimentsMenuItem

    def get_urlpatterns(self):
        return [
            path("", ExperimentsReportView.as_view(), name="index"),
            path("results/", ExperimentsReportView.as_view(results_only=True), name="index_results"),
            path("<int:pk>/", ExperimentDetailView.as_view(), name="detail"),
            path("<int:pk>/reset/", ResetExperimentView.as_view(), name="reset"),
            path("<int:pk>/pause/", PauseExperimentView.as_view(), name="pause"),
            path("<int:pk>/resume/", ResumeExperimentView.as_view(), name="resume"),
            path("<int:pk>/winner/", DeclareWinnerView.as_view(), name="declare_winner"),
        ]


class TailorViewSetGroup(ViewSetGroup):
    menu_label = _("Tailor")
    menu_name = "tailor"
    menu_icon = "user"
    menu_order = 250
    submenu_hook = TAILOR_MENU_HOOK
    items = (OverviewViewSet, TailorSegmentViewSet, JourneyStageViewSet, ExperimentsViewSet, SimulatorViewSet)


@hooks.register("register_admin_viewset")
def register_tailor_area():
    return TailorViewSetGroup()


@hooks.register("register_page_header_buttons")
def simulate_personalization_button(page, user, view_name, next_url=None):
    if personalizable(page.specific_class or type(page)):
        yield Button(_("Simulate personalization"), simulator_url(page.pk), icon_name="view", priority=90)


@hooks.register("register_permissions")
def register_experiment_permissions():
    return Permission.objects.filter(content_type__app_label="tailor_variants", codename="review_experiment")


@hooks.register("register_log_actions")
def register_experiment_log_actions(actions):
    @actions.register_action(ACTION_RESET)
    class ResetFormatter(LogFormatter):
        label = _("Experiment: reset statistics")

        def format_message(self, log_entry):
            return _("Reset the statistics of experiment “%(slot)s”") % {"slot": log_entry.data.get("slot", "")}

    @actions.register_action(ACTION_PAUSE)
    class PauseFormatter(LogFormatter):
        label = _("Experiment: pause")

        def format_message(self, log_entry):
            return _("Paused experiment “%(slot)s”: everyone sees the default") % {
                "slot": log_entry.data.get("slot", "")
            }

    @actions.register_action(ACTION_RESUME)
    class ResumeFormatter(LogFormatter):
        label = _("Experiment: resume")

        def format_message(self, log_entry):
            return _("Resumed experiment “%(slot)s”") % {"slot": log_entry.data.get("slot", "")}

    @actions.register_action(ACTION_WINNER)
    class WinnerFormatter(LogFormatter):
        label = _("Experiment: declare winner")

        def format_message(self, log_entry):
            words = {"slot": log_entry.data.get("slot", ""), "variant": log_entry.data.get("variant", "")}
            if log_entry.data.get("published"):
                return _("Declared “%(variant)s” the winner of “%(slot)s” (published)") % words
            return _("Declared “%(variant)s” the winner of “%(slot)s” (as a draft)") % words


@hooks.register("register_page_header_buttons")
def experiments_button(page, user, view_name, next_url=None):
    """From the page editor to the page's experiments (the report filtered by the page), and to each
    region's own experiment (one link per slot, "Experiment: cta")."""
    if not can_review(user):
        return
    slots = list(Experiment.objects.filter(page_id=page.pk).order_by("slot_name").values_list("pk", "slot_name"))
    if slots:
        url = f"{reverse('tailor_experiments:index')}?{urlencode({'page': page.pk})}"
        yield Button(_("Experiments"), url, icon_name="crosshairs", priority=91)
    for pk, slot_name in slots:
        label = _("Experiment: %(slot)s") % {"slot": slot_name}
        yield Button(label, reverse("tailor_experiments:detail", args=[pk]), icon_name="crosshairs", priority=92)


# --- Visitor data: data requests (access, erasure); see cms.visitor_data --------------------------------


@hooks.register("register_admin_urls")
def register_visitor_data_url():
    return [path("tailor/visitor-data/", VisitorDataView.as_view(), name="tailor_visitor_data")]


class VisitorDataMenuItem(MenuItem):
    def is_shown(self, request):
        return can_handle_visitor_data(request.user)


@hooks.register("register_tailor_menu_item")  # the Tailor submenu (TAILOR_MENU_HOOK)
def visitor_data_menu_item():
    return VisitorDataMenuItem(
        _("Visitor data"), reverse("tailor_visitor_data"), name="tailor-visitor-data", icon_name="user", order=900
    )


@hooks.register("register_permissions")
def register_visitor_data_permissions():
    return Permission.objects.filter(content_type__app_label="tailor_variants", codename="add_visitordatarequest")


@hooks.register("register_log_actions")
def register_visitor_data_log_actions(actions):
    @actions.register_action("tailor.visitor_data.export")
    class ExportFormatter(LogFormatter):
        label = _("Visitor data: export")

        def format_message(self, log_entry):
            return _("Exported a visitor's data (%(events)s event(s)); reference: %(reference)s") % {
                "events": log_entry.data.get("events", 0),
                "reference": log_entry.data.get("reference") or "—",
            }

    @actions.register_action("tailor.visitor_data.forget")
    class ForgetFormatter(LogFormatter):
        label = _("Visitor data: erase")

        def format_message(self, log_entry):
            return _(
                "Erased a visitor's data (%(profiles)s profile(s), %(events)s event(s)); reference: %(reference)s"
            ) % {
                "profiles": log_entry.data.get("profiles", 0),
                "events": log_entry.data.get("events", 0),
                "reference": log_entry.data.get("reference") or "—",
            }
