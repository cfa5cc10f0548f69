from wagtail import blocks
from wagtail.admin.panels import FieldPanel
from wagtail.fields import StreamField
from wagtail.models import Page
from wagtail_personalisation.blocks import PersonalisedStructBlock


class ContentBlock(blocks.StructBlock):
    """A region's content for everyone (the plain page's regions)."""

    heading = blocks.CharBlock(required=False)
    paragraph = blocks.RichTextBlock(required=False)
    button_label = blocks.CharBlock(required=False)
    button_url = blocks.CharBlock(required=False)

    class Meta:
        template = "wp_home/content_block.html"


class PersonalisedContentBlock(PersonalisedStructBlock):
    """The same content shown only to the visitors of its segment (wagtail-personalisation's own
    mechanism: a block per variant, each with the segment it is for, or everyone)."""

    heading = blocks.CharBlock(required=False)
    paragraph = blocks.RichTextBlock(required=False)
    button_label = blocks.CharBlock(required=False)
    button_url = blocks.CharBlock(required=False)

    class Meta:
        template = "wp_home/content_block.html"


class HomePage(Page):
    body = StreamField(
        [
            ("heading", blocks.CharBlock(max_length=200)),
            ("paragraph", blocks.RichTextBlock()),
            ("content", ContentBlock()),
            ("personalised", PersonalisedContentBlock()),
        ],
        blank=True,
    )

    content_panels = Page.content_panels + [FieldPanel("body")]
