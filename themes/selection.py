"""Which theme renders a page for a request, and why.

In order: the theme asked for by name (the API's ``renderedHtml(theme:)``), the page's pinned theme
(`PageTheme`), the first theme whose activation conditions match the visitor's context (themes in
name order; the same condition language and engine as variants, so "midnight" from 20:00 to 06:00 means
the visitor's 20:00), the site's default (`ThemeSettings`), else "daylight". The choice carries a
reason in the visitor's language, as decisions do.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from django.utils.translation import gettext
from wagtail.models import Site

from rules.blocks import conditions_spec, load_condition_hooks
from rules.engine import Condition, ConditionError, Context, registry
from themes.models import PageTheme, ThemeSettings
from themes.theme import Theme, themes
from variants.rendering import THEME_SOURCES, UnknownTheme

FALLBACK_THEME = "daylight"

# The vocabulary lives with the registry the API reads (`variants.rendering`), in precedence order.
SOURCE_NAMED, SOURCE_PAGE, SOURCE_CONTEXT, SOURCE_SITE, SOURCE_FALLBACK = THEME_SOURCES


@dataclass(frozen=True)
class ThemeChoice:
    theme: Theme
    #: one of the SOURCE_* names above
    source: str
    reason: str


_compiled: dict[tuple, Condition | None] = {}
_compiled_lock = threading.Lock()


def activation(theme: Theme) -> Condition | None:
    """The theme's activation conditions compiled by the rules engine (None: it has none)."""
    key = (theme.name, str(theme.path), theme.stamp)
    with _compiled_lock:
        if key in _compiled:
            return _compiled[key]
    condition = None
    if theme.conditions:
        load_condition_hooks()
        spec = conditions_spec(list(theme.conditions), theme.match)
        try:
            condition = registry.build(spec) if spec else None
        except ConditionError:  # `tailor_themes check` reports it; a theme that cannot match is skipped
            condition = None
    with _compiled_lock:
        _compiled[key] = condition
    return condition


def site_default(page, request) -> str:
    """The default theme of the request's site (else the page's site); "" when none is set."""
    site = Site.find_for_request(request) if request is not None else None
    if site is None and page is not None and getattr(page, "pk", None):
        site = page.get_site()
    return ThemeSettings.for_site(site).default_theme if site is not None else ""


def page_theme(page) -> str:
    if page is None or not getattr(page, "pk", None):
        return ""
    row = PageTheme.objects.filter(page_id=page.pk).values_list("theme", flat=True).first()
    return row or ""


def choose_theme(page=None, ctx: Context | None = None, name: str | None = None, request=None) -> ThemeChoice:
    """Pick the theme; raises `UnknownTheme` for a name no installed theme has."""
    available = themes.all()
    if name:
        theme = available.get(name)
        if theme is None:
            raise UnknownTheme(name, sorted(available))
        return ThemeChoice(
            theme, SOURCE_NAMED, gettext("Theme %(label)s: asked for by name") % {"label": theme.display_label}
        )
    pinned = available.get(page_theme(page))
    if pinned is not None:
        return ThemeChoice(
            pinned, SOURCE_PAGE, gettext("Theme %(label)s: chosen for this page") % {"label": pinned.display_label}
        )
    if ctx is not None:
        for theme_name in sorted(available):
            theme = available[theme_name]
            condition = activation(theme)
            if condition is None:
                continue
            outcome = condition.evaluate(ctx)
            if outcome.value is True:
                reason = gettext("Theme %(label)s: %(reason)s") % {
                    "label": theme.display_label,
                    "reason": outcome.reason,
                }
                return ThemeChoice(theme, SOURCE_CONTEXT, reason)
    default = available.get(site_default(page, request))
    if default is not None:
        return ThemeChoice(
            default, SOURCE_SITE, gettext("Theme %(label)s: the site's default") % {"label": default.display_label}
        )
    fallback = available.get(FALLBACK_THEME) or (available[min(available)] if available else None)
    if fallback is None:
        raise UnknownTheme(FALLBACK_THEME, [])
    return ThemeChoice(
        fallback, SOURCE_FALLBACK, gettext("Theme %(label)s: the default theme") % {"label": fallback.display_label}
    )
