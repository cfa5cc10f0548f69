from grapple.models import GraphQLStreamfield
from wagtail import blocks
from wagtail.admin.panels import FieldPanel
from wagtail.fields import StreamField
from wagtail.models import Page

from cms.blocks import PersonalizedBlock
from cms.models import PersonalizationPreviewMixin


class HomePage(PersonalizationPreviewMixin, Page):
    body = StreamField(
        [
            ("heading", blocks.CharBlock(max_length=200)),
            ("paragraph", blocks.RichTextBlock()),
            ("personalized", PersonalizedBlock()),
        ],
        blank=True,
    )

    content_panels = Page.content_panels + [FieldPanel("body")]
    graphql_fields = [GraphQLStreamfield("body")]
