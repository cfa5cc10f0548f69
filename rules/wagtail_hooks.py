# The Segments admin (rules.views.SegmentViewSet) is registered by cms.wagtail_hooks, inside the
# Tailor menu group (as cms.overview.TailorSegmentViewSet, which adds where each segment is used).

from django.utils.translation import gettext_lazy as _
from wagtail.snippets.views.snippets import SnippetViewSet

from rules.models import JourneyStage


class JourneyStageViewSet(SnippetViewSet):
    """The site's funnel (Discover → Consider → Decide → Retain): ordered stages with conditions over
    the journey; registered in the Tailor menu group by cms.wagtail_hooks."""

    model = JourneyStage
    icon = "list-ol"
    menu_label = _("Journey stages")
    menu_name = "tailor-journey-stages"
    list_display = ["name", "slug", "order", "enabled", "updated_at"]
    list_filter = ["enabled"]
    search_fields = ["name", "slug", "description"]
    ordering = ["order", "name"]
