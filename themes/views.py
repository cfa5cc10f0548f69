"""Admin views: the themes installed (with thumbnails and check results), a theme's thumbnail, and
the theme a page is pinned to."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.generic import FormView, TemplateView
from wagtail.admin.auth import user_has_any_page_permission
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.models import Page

from themes.checks import check_all
from themes.models import PageTheme, theme_choices
from themes.selection import activation
from themes.theme import themes
from themes.thumbnails import thumbnail
from themes.widgets import ThemePicker


def thumbnail_view(request, name):
    if not user_has_any_page_permission(request.user):
        raise PermissionDenied
    theme = themes.get(name)
    if theme is None:
        raise Http404(name)
    response = HttpResponse(thumbnail(theme), content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    return response


class ThemeIndexView(WagtailAdminTemplateMixin, TemplateView):
    template_name = "tailor_themes/index.html"
    page_title = _("Themes")
    header_icon = "palette"

    def dispatch(self, request, *args, **kwargs):
        if not user_has_any_page_permission(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [{"url": "", "label": self.get_page_title()}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        problems = {str(folder): found for folder, found in check_all().items()}
        rows = []
        for theme in sorted(themes.all().values(), key=lambda t: t.name):
            condition = activation(theme)
            rows.append(
                {
                    "theme": theme,
                    "activation": condition.describe() if condition is not None else "",
                    "problems": problems.get(str(theme.path), []),
                }
            )
        loaded = {str(t.path) for t in themes.all().values()}
        broken = [p for folder, found in problems.items() for p in found if folder not in loaded]
        context.update({"rows": rows, "broken": broken})
        return context


class PageThemeForm(forms.Form):
    theme = forms.ChoiceField(label=_("Theme"), required=False, widget=ThemePicker)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["theme"].choices = [("", gettext("No preference")), *theme_choices()]


class PageThemeView(WagtailAdminTemplateMixin, FormView):
    """Pin a page to a theme (it then wins over context activation and the site's default)."""

    template_name = "tailor_themes/page_theme.html"
    form_class = PageThemeForm
    header_icon = "palette"

    def dispatch(self, request, *args, **kwargs):
        self.page = get_object_or_404(Page, pk=kwargs["page_id"])
        if not self.page.permissions_for_user(request.user).can_edit():
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_page_title(self):
        return gettext("Theme of %(title)s") % {"title": self.page.get_admin_display_title()}

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [{"url": "", "label": self.get_page_title()}]

    def get_initial(self):
        return {"theme": PageTheme.objects.filter(page=self.page).values_list("theme", flat=True).first() or ""}

    def form_valid(self, form):
        name = form.cleaned_data["theme"]
        if name:
            PageTheme.objects.update_or_create(page=self.page, defaults={"theme": name})
            messages.success(
                self.request,
                gettext("The page now renders with %(theme)s.") % {"theme": themes.get(name).display_label},
            )
        else:
            PageTheme.objects.filter(page=self.page).delete()
            messages.success(self.request, gettext("The page follows the context and the site's default theme."))
        return redirect(reverse("tailor_themes:page", args=[self.page.pk]))

    def get_context_data(self, **kwargs):
        return super().get_context_data(page=self.page, **kwargs)
