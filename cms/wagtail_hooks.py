import graphene
from django.contrib.auth.models import Permission
from django.templatetags.static import static
from django.urls import include, path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.auth import user_has_any_page_permission
from wagtail.admin.menu import Menu, MenuItem, SubmenuMenuItem
from wagtail.admin.widgets import Button
from wagtail.log_actions import LogFormatter

from cms.experiments import (
    DeclareWinnerView,
    ExperimentDetailView,
    ExperimentsReportView,
    ResetExperimentView,
    can_review,
)
from cms.forms import personalizable
from cms.views import SimulatorView, simulator_url
from rules.schema import Mutation as RulesMutation
from variants.experiments import ACTION_RESET, ACTION_WINNER
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


# --- Tailor admin menu and the personalization simulator ---------------------------------------

#: other Tailor admin pages add themselves to the "Tailor" submenu through this hook
TAILOR_MENU_HOOK = "register_tailor_menu_item"


class SimulatorMenuItem(MenuItem):
    def is_shown(self, request):  # the simulator is no use to someone who edits no page
        return user_has_any_page_permission(request.user)


@hooks.register("register_admin_urls")
def register_simulator_urls():
    urls = [path("", SimulatorView.as_view(), name="index")]
    return [path("tailor/simulator/", include((urls, "tailor_simulator")))]


@hooks.register("register_admin_menu_item")
def register_tailor_menu():
    return SubmenuMenuItem(
        _("Tailor"), Menu(register_hook_name=TAILOR_MENU_HOOK), name="tailor", icon_name="user", order=260
    )


@hooks.register(TAILOR_MENU_HOOK)
def register_simulator_menu_item():
    return SimulatorMenuItem(
        _("Simulator"), reverse("tailor_simulator:index"), name="tailor-simulator", icon_name="view", order=100
    )


@hooks.register("register_page_header_buttons")
def simulate_personalization_button(page, user, view_name, next_url=None):
    if personalizable(page.specific_class or type(page)):
        yield Button(_("Simulate personalization"), simulator_url(page.pk), icon_name="view", priority=90)


# --- A/B test reviews: the Experiments report (under Reports) and each experiment's detail -------


class ExperimentsMenuItem(MenuItem):
    def is_shown(self, request):
        return can_review(request.user)


@hooks.register("register_admin_urls")
def register_experiment_urls():
    urls = [
        path("", ExperimentsReportView.as_view(), name="index"),
        path("results/", ExperimentsReportView.as_view(results_only=True), name="index_results"),
        path("<int:pk>/", ExperimentDetailView.as_view(), name="detail"),
        path("<int:pk>/reset/", ResetExperimentView.as_view(), name="reset"),
        path("<int:pk>/winner/", DeclareWinnerView.as_view(), name="declare_winner"),
    ]
    return [path("tailor/experiments/", include((urls, "tailor_experiments")))]


@hooks.register("register_reports_menu_item")
def register_experiments_report_menu_item():
    return ExperimentsMenuItem(
        _("Experiments"),
        reverse("tailor_experiments:index"),
        name="tailor-experiments",
        icon_name="crosshairs",
        order=1300,
    )


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
    """From the page editor to the page's experiments (the report filtered by the page)."""
    if can_review(user) and Experiment.objects.filter(page_id=page.pk).exists():
        url = f"{reverse('tailor_experiments:index')}?{urlencode({'page': page.pk})}"
        yield Button(_("Experiments"), url, icon_name="crosshairs", priority=91)
