from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from tailor import cors
from tailor.settings import tailor_settings


class CmsConfig(AppConfig):
    name = "cms"
    label = "tailor_cms"
    verbose_name = _("Tailor")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Fail at start-up, not on the first request, when TAILOR holds an unknown key or a wrong value.
        tailor_settings.user_settings  # noqa: B018

        # Register the GraphQL type of the personalized block with grapple before its schema is built.
        # (Imported here: grapple's types import Wagtail's models, which need the app registry.)
        from cms.graphql_types import register_block_types

        register_block_types()

        # CORS for /graphql/ and /tailor/events/ (TAILOR["CORS_ORIGINS"]) through django-cors-headers'
        # signal, so a site needs no CORS_* setting. Connected here, with the app that serves those URLs.
        cors.connect()

        # The publish webhook (TAILOR["REVALIDATE"]): Wagtail's page signals. (Imported here: it imports
        # Wagtail's models.)
        from cms import revalidate

        revalidate.connect()
