from django.apps import AppConfig


class RulesConfig(AppConfig):
    name = "rules"
    label = "tailor_rules"
    verbose_name = "Tailor rules"
    default_auto_field = "django.db.models.BigAutoField"
