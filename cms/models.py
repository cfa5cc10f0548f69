"""Page mixins for sites using Tailor."""

from __future__ import annotations

import logging

from django.template.response import TemplateResponse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from cms.views import preview_context
from variants.rendering import has_renderer, render

PREVIEW_MODE = "tailor"

logger = logging.getLogger("tailor")


class PersonalizationPreviewMixin:
    """Adds a "Personalization" preview mode to a page type: the page as a visitor in the simulated
    context sees it, with which variant each region shows and why beside it.

        class ArticlePage(PersonalizationPreviewMixin, Page):
            ...

    The mode explains the decisions for the page being edited (unsaved changes included) in the
    context the editor last set in the simulator (kept in their session), or, without one, for a
    visitor right now in the site's default timezone. The normal preview mode stays the default.
    """

    @property
    def preview_modes(self):
        return [*super().preview_modes, (PREVIEW_MODE, _("Personalization"))]

    def serve_preview(self, request, mode_name):
        if mode_name != PREVIEW_MODE:
            return super().serve_preview(request, mode_name)
        context = preview_context(request, self)
        if has_renderer():
            # The page as visitors in this context see it, through the theme the page would use: the
            # main view, with the decisions beside it. (The themes app registers the renderer; without
            # it, or if the theme fails, the preview shows the chosen blocks of each region unthemed.)
            try:
                context["themed_html"] = mark_safe(render(context["simulation"].result, None, request))
            except Exception:
                logger.warning("the personalization preview could not render the page's theme", exc_info=True)
        return TemplateResponse(request, "tailor_cms/preview/personalization.html", context)
