from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ThemesConfig(AppConfig):
    name = "themes"
    label = "tailor_themes"
    verbose_name = _("Tailor themes")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The renderer uses models and Wagtail's blocks, importable only once the app registry is
        # ready; registering it here is how `variants` renders without importing `themes`.
        from themes.rendering import explain_personalized_page, render_personalized_page
        from variants.rendering import register_renderer

        register_renderer(render_personalized_page, choose=explain_personalized_page)
