from django.utils.translation import gettext_lazy as _
from wagtail.snippets.views.snippets import SnippetViewSet

from rules.models import Segment


class SegmentViewSet(SnippetViewSet):
    model = Segment
    icon = "group"
    menu_label = _("Segments")
    menu_name = "tailor-segments"
    add_to_admin_menu = True
    menu_order = 250
    list_display = ["name", "slug", "kind", "enabled", "updated_at"]
    list_filter = ["kind", "enabled"]
    search_fields = ["name", "slug", "description", "summary"]
    ordering = ["name"]
