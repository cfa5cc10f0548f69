"""Server-rendered HTML for a personalized page: a registry the layers above fill in.

`variants` renders nothing itself and imports no theme (themes sit above it): an app above, such as
`themes`, registers a renderer in its ``AppConfig.ready()``::

    from variants.rendering import register_renderer
    register_renderer(render_personalized_page)

and the API (`PersonalizedPage.renderedHtml`) and the editor's preview call `render(...)`. A renderer
takes ``(result, theme, request)``: the `variants.services.PagePersonalization`, the theme asked for by
name (None: the one the site, the page or the context selects) and the request (or None); it returns
HTML and raises `UnknownTheme` for a name it does not know.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext

Renderer = Callable[[Any, "str | None", Any], str]

_lock = threading.Lock()
_renderer: Renderer | None = None


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


def register_renderer(fn: Renderer) -> Renderer:
    """Make `fn` the renderer (the last registration wins, so a site can replace the bundled one)."""
    global _renderer
    with _lock:
        _renderer = fn
    return fn


def unregister_renderer(fn: Renderer) -> None:
    global _renderer
    with _lock:
        if _renderer is fn:
            _renderer = None


def has_renderer() -> bool:
    return _renderer is not None


def render(result, theme: str | None = None, request=None) -> str:
    """The page of `result` rendered as HTML, through the theme named or the one selected."""
    renderer = _renderer
    if renderer is None:
        raise NoRenderer(gettext("No renderer is registered: add 'themes' to INSTALLED_APPS"))
    return renderer(result, theme, request)
