"""Which theme a site uses by default, and which theme a page is pinned to."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel
from wagtail.contrib.settings.models import BaseSiteSetting, register_setting

from themes.theme import themes
from themes.widgets import ThemePicker


def theme_choices() -> list[tuple[str, str]]:
    """The installed themes, as choices (evaluated when a form is built, so new themes appear)."""
    return [(name, theme.display_label) for name, theme in sorted(themes.all().items())]


@register_setting(icon="palette")
class ThemeSettings(BaseSiteSetting):
    default_theme = models.CharField(
        _("default theme"),
        max_length=64,
        blank=True,
        choices=theme_choices,
        help_text=_(
            "The theme pages of this site render with, unless a page is pinned to one or a theme's "
            "conditions match the visitor's context. Empty: Daylight."
        ),
    )

    panels = [FieldPanel("default_theme", widget=ThemePicker)]

    class Meta:
        verbose_name = _("Themes")


class PageTheme(models.Model):
    """A page pinned to one theme: it wins over context activation and the site's default."""

    page = models.OneToOneField(
        "wagtailcore.Page", on_delete=models.CASCADE, related_name="tailor_theme", verbose_name=_("page")
    )
    theme = models.CharField(_("theme"), max_length=64, choices=theme_choices)

    class Meta:
        verbose_name = _("page theme")
        verbose_name_plural = _("page themes")

    def __str__(self) -> str:
        return f"{self.page} → {self.theme}"
