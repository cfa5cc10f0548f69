from django.apps import AppConfig


class VariantsConfig(AppConfig):
    name = "variants"
    label = "tailor_variants"
    verbose_name = "Tailor variants"
    default_auto_field = "django.db.models.BigAutoField"
