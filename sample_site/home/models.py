from django.utils.translation import gettext_lazy as _
from grapple.models import GraphQLCollection, GraphQLStreamfield
from wagtail import blocks
from wagtail.admin.panels import FieldPanel
from wagtail.fields import StreamField
from wagtail.models import Page
from wagtail_headless_preview.models import HeadlessPreviewMixin
from wagtail_headless_preview.settings import headless_preview_settings

from cms.blocks import PersonalizedBlock
from cms.models import PersonalizationPreviewMixin

FRONTEND_PREVIEW_MODE = "frontend"


class FrontendPreviewMixin(HeadlessPreviewMixin):
    """A "Frontend" preview mode: the draft as the headless frontend renders it.

    wagtail-headless-preview stores the draft (a `PagePreview` with a signed token) and the preview
    shows the frontend's preview route, ``WAGTAIL_HEADLESS_PREVIEW["CLIENT_URLS"]``, with
    ``?content_type=home.homepage&token=...``; the frontend reads the draft back with
    ``personalizedPage(previewToken:, contentType:)``. The mode is offered only while a client URL is
    configured; the page's other preview modes (the template, Tailor's "Personalization") are unchanged.
    """

    @property
    def preview_modes(self):
        modes = super().preview_modes
        if headless_preview_settings.CLIENT_URLS:
            modes = [*modes, (FRONTEND_PREVIEW_MODE, _("Frontend"))]
        return modes

    def serve_preview(self, request, mode_name):
        if mode_name == FRONTEND_PREVIEW_MODE and headless_preview_settings.CLIENT_URLS:
            return super().serve_preview(request, mode_name)
        # Every other mode: past wagtail-headless-preview's serve_preview, which ignores the mode.
        return super(HeadlessPreviewMixin, self).serve_preview(request, mode_name)


class HomePage(FrontendPreviewMixin, PersonalizationPreviewMixin, Page):
    body = StreamField(
        [
            ("heading", blocks.CharBlock(max_length=200)),
            ("paragraph", blocks.RichTextBlock()),
            ("personalized", PersonalizedBlock()),
        ],
        blank=True,
    )

    content_panels = Page.content_panels + [FieldPanel("body")]
    # `[StreamFieldInterface!]!`: GraphQLStreamfield alone drops `required` on a list
    graphql_fields = [GraphQLCollection(GraphQLStreamfield, "body", required=True, item_required=True, is_list=False)]
