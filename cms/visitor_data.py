"""The admin's "Visitor data" page: answer a visitor's data request (access or erasure).

Look a visitor up by their visitor id or visitor token (the site's privacy contact gets it from the
visitor, e.g. from the frontend's "my data" page), see how much is kept, download the export (JSON),
or forget them after confirming. Every export and erasure is recorded as a `VisitorDataRequest` and a
Wagtail log action (Reports → Site history), with the reference the editor gives (e.g. a ticket
number) and the counts, never the visitor id. Everything is POST, so ids and tokens never reach
access logs. Who may: superusers and holders of "Can add visitor data request".
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.generic import FormView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.log_actions import log

from variants.models import VisitorDataRequest
from variants.privacy import UnknownVisitor, export_visitor_data, forget_visitor, summarize, visitor_id_from

ACTION_EXPORT = "tailor.visitor_data.export"
ACTION_FORGET = "tailor.visitor_data.forget"
PERMISSION = "tailor_variants.add_visitordatarequest"


def can_handle_visitor_data(user) -> bool:
    return bool(user and user.is_active and (user.is_superuser or user.has_perm(PERMISSION)))


class VisitorDataForm(forms.Form):
    visitor = forms.CharField(
        label=_("Visitor id or visitor token"),
        max_length=4096,
        help_text=_("The visitor's token (from their cookie or the frontend's data page) or their visitor id."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    reference = forms.CharField(
        label=_("Reference"),
        max_length=100,
        required=False,
        help_text=_("For the audit log, e.g. the ticket number of the request. Do not enter the visitor's id."),
    )
    confirm = forms.BooleanField(
        label=_("I understand this erases the visitor's profile and logged events for good"), required=False
    )

    def clean_visitor(self):
        try:
            return visitor_id_from(self.cleaned_data["visitor"])
        except UnknownVisitor as e:
            raise forms.ValidationError(
                gettext("Not a visitor id or a valid visitor token: %(problem)s") % {"problem": e}
            ) from None


class VisitorDataView(WagtailAdminTemplateMixin, FormView):
    template_name = "tailor_cms/visitor_data/index.html"
    form_class = VisitorDataForm
    page_title = _("Visitor data")
    header_icon = "user"

    def dispatch(self, request, *args, **kwargs):
        if not can_handle_visitor_data(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [{"url": "", "label": self.get_page_title()}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("found", None)
        context["recent_requests"] = VisitorDataRequest.objects.all()[:10]
        return context

    def form_valid(self, form):
        visitor_id = form.cleaned_data["visitor"]
        reference = form.cleaned_data["reference"]
        action = self.request.POST.get("action", "lookup")
        if action == "export":
            return self.export(visitor_id, reference)
        if action == "forget":
            if not form.cleaned_data["confirm"]:
                form.add_error("confirm", gettext("Tick the box to confirm the erasure."))
                return self.render_to_response(self.get_context_data(form=form, found=summarize(visitor_id)))
            return self.forget(visitor_id, reference)
        found = summarize(visitor_id)
        return self.render_to_response(self.get_context_data(form=form, found=found))

    def _audit(self, kind: str, action: str, reference: str, summary: dict) -> VisitorDataRequest:
        entry = VisitorDataRequest.objects.create(kind=kind, reference=reference, summary=summary)
        log(instance=entry, action=action, user=self.request.user, data={"reference": reference, **summary})
        return entry

    def export(self, visitor_id: str, reference: str) -> HttpResponse:
        data = export_visitor_data(visitor_id)
        summary = {"profiles": 1 if data["profile"] else 0, "events": len(data["events"])}
        entry = self._audit(VisitorDataRequest.KIND_EXPORT, ACTION_EXPORT, reference, summary)
        response = HttpResponse(json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json")
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response["Content-Disposition"] = f'attachment; filename="visitor-data-{entry.pk}-{stamp}.json"'
        response["Cache-Control"] = "no-store"
        return response

    def forget(self, visitor_id: str, reference: str) -> HttpResponse:
        result = forget_visitor(visitor_id)
        summary = {"profiles": result.profiles, "events": result.events + result.stream_entries}
        self._audit(VisitorDataRequest.KIND_FORGET, ACTION_FORGET, reference, summary)
        messages.success(
            self.request,
            gettext("Visitor forgotten: %(profiles)s profile(s) and %(events)s logged event(s) erased.") % summary,
        )
        return redirect(self.request.path)
