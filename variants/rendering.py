"""Server-rendered HTML for a personalized page: a registry the layers above fill in.

`variants` renders nothing itself and imports no theme (themes sit above it): an app above, such as
`themes`, registers a renderer in its ``AppConfig.ready()``::

    from variants.rendering import register_renderer
    register_renderer(render_personalized_page)

and the API (`PersonalizedPage.renderedHtml`) and the editor's preview call `render(...)`. A renderer
takes ``(result, theme, request)``: the `variants.services.PagePersonalization`, the theme asked for by
name (None: the one the site, the page or the context selects) and the request (or None); it returns
HTML and raises `UnknownTheme` for a name it does not know.

The same app can register a chooser (``register_renderer(render, choose=explain)``): it takes the same
arguments and returns a `ThemeExplanation`, which theme the page would render through and why; the API
answers it as `PersonalizedPage.theme` without rendering anything.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext

Renderer = Callable[[Any, "str | None", Any], str]

#: Theme sources, in the order a chooser consults them
THEME_SOURCES = ("named", "page", "context", "site", "fallback")


@dataclass(frozen=True)
class ThemeExplanation:
    """Which theme renders a page and why: `source` is one of THEME_SOURCES, `reason` is worded in the
    active language, like a decision's reasons."""

    name: str
    label: str
    source: str
    reason: str


Chooser = Callable[[Any, "str | None", Any], ThemeExplanation]

_lock = threading.Lock()
_renderer: Renderer | None = None
_chooser: Chooser | None = None


class UnknownTheme(LookupError):
    """A theme name that no installed theme has; `known` lists the names that exist."""

    def __init__(self, name: str, known: list[str] | tuple[str, ...] = ()):
        self.name = name
        self.known = tuple(known)
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return gettext("unknown theme %(name)r; installed themes: %(known)s") % {
            "name": self.name,
            "known": ", ".join(self.known) or "—",
        }


class NoRenderer(RuntimeError):
    """No app registered a renderer (add "themes" to INSTALLED_APPS)."""


def register_renderer(fn: Renderer, choose: Chooser | None = None) -> Renderer:
    """Make `fn` the renderer and `choose` its chooser (the last registration wins, so a site can
    replace the bundled one)."""
    global _renderer, _chooser
    with _lock:
        _renderer = fn
        _chooser = choose
    return fn


def unregister_renderer(fn: Renderer) -> None:
    global _renderer, _chooser
    with _lock:
        if _renderer is fn:
            _renderer = None
            _chooser = None


def has_renderer() -> bool:
    return _renderer is not None


def render(result, theme: str | None = None, request=None) -> str:
    """The page of `result` rendered as HTML, through the theme named or the one selected."""
    renderer = _renderer
    if renderer is None:
        raise NoRenderer(gettext("No renderer is registered: add 'themes' to INSTALLED_APPS"))
    return renderer(result, theme, request)


def explain_theme(result, theme: str | None = None, request=None) -> ThemeExplanation | None:
    """The theme `result`'s page renders through and why; None when no chooser is registered."""
    chooser = _chooser
    if chooser is None:
        return None
    return chooser(result, theme, request)
