"""``{% tailor_page %}``: the current page, personalized for the request and rendered through its theme.

    {% load tailor_themes %}
    <body>{% tailor_page %}</body>

The visitor is the request (its headers: User-Agent, Accept-Language, CDN geo and timezone headers);
``?theme=midnight`` asks for a theme by name and ``?timezone=Asia/Seoul`` gives the visitor's timezone
when no header does (handy on a demo site; a bad value is a 400 or 404, never a server error).
"""

from __future__ import annotations

from django import template
from django.core.exceptions import BadRequest
from django.http import Http404
from django.utils.safestring import mark_safe

from rules.context_builder import build_request_context
from rules.engine import InvalidContext
from themes.rendering import render_page
from variants.rendering import UnknownTheme
from variants.services import personalize_page
from variants.tokens import new_visitor_id

register = template.Library()


@register.simple_tag(takes_context=True)
def tailor_page(context, page=None):
    request = context.get("request")
    page = page or context.get("page")
    data = {}
    if request is not None and request.GET.get("timezone"):
        data["timezone"] = request.GET["timezone"]
    try:
        rc = build_request_context(request, data, visitor_id=new_visitor_id(), path=getattr(request, "path", None))
    except InvalidContext as e:
        raise BadRequest(f"{e.field}: {e.message}") from None
    result = personalize_page(page, rc)
    theme = request.GET.get("theme") if request is not None else None
    try:
        rendered = render_page(page, result, theme=theme or None, request=request)
    except UnknownTheme as e:
        raise Http404(e.message) from None
    context["tailor_theme"] = rendered.choice
    return mark_safe(rendered.html)  # rendered by the sandbox, with autoescaping
