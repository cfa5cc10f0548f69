from django.apps import AppConfig


class CmsConfig(AppConfig):
    name = "cms"
    label = "tailor_cms"
    verbose_name = "Tailor"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Fail at start-up, not on the first request, when TAILOR holds an unknown key.
        from tailor.settings import tailor_settings

        tailor_settings.user_settings  # noqa: B018

        # Register the GraphQL type of the personalized block with grapple before its schema is built.
        from cms.graphql_types import register_block_types

        register_block_types()
