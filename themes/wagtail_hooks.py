from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.widgets import Button

from cms.overview import PageEditorsMenuItem
from cms.wagtail_hooks import TAILOR_MENU_HOOK
from themes.views import PageThemeView, ThemeIndexView, thumbnail_view


@hooks.register("register_admin_urls")
def register_theme_urls():
    urls = [
        path("", ThemeIndexView.as_view(), name="index"),
        path("<slug:name>/thumbnail.png", thumbnail_view, name="thumbnail"),
        path("page/<int:page_id>/", PageThemeView.as_view(), name="page"),
    ]
    return [path("tailor/themes/", include((urls, "tailor_themes")))]


@hooks.register(TAILOR_MENU_HOOK)
def register_themes_menu_item():
    return PageEditorsMenuItem(
        _("Themes"), reverse("tailor_themes:index"), name="tailor-themes", icon_name="palette", order=400
    )


@hooks.register("register_page_header_buttons")
def page_theme_button(page, user, view_name, next_url=None):
    if page.pk and page.depth > 1 and page.permissions_for_user(user).can_edit():
        yield Button(_("Theme"), reverse("tailor_themes:page", args=[page.pk]), icon_name="palette", priority=95)
