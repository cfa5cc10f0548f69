from django.apps import AppConfig


class ThemesConfig(AppConfig):
    name = "themes"
    label = "tailor_themes"
    verbose_name = "Tailor themes"
    default_auto_field = "django.db.models.BigAutoField"
