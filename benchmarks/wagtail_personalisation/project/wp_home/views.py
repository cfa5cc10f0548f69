from django.http import Http404, HttpResponse
from wagtail import hooks
from wagtail.models import Page
from wagtail.views import serve_chain


def serve_without_personalisation(request, path):
    """Wagtail's own `wagtail.views.serve` minus wagtail-personalisation's `before_serve_page` hooks
    (they run for every page served, personalised or not): the same site as if the add-on were not
    there, for the plain page the personalised one is compared with."""
    route_result = Page.route_for_request(request, path)
    if route_result is None:
        raise Http404
    page, args, kwargs = route_result
    for fn in hooks.get_hooks("before_serve_page"):
        if fn.__module__.startswith("wagtail_personalisation"):
            continue
        result = fn(page, request, args, kwargs)
        if isinstance(result, HttpResponse):
            return result
    return serve_chain(page, request, args, kwargs)
