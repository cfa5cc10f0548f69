from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from rules.engine import i18n


class RulesConfig(AppConfig):
    name = "rules"
    label = "tailor_rules"
    verbose_name = _("Tailor rules")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Models and what uses them can only be imported once the app registry is ready.
        from rules.models import Segment
        from rules.segments import on_segment_changed

        # The engine's reasons and labels follow the request's language from here on.
        i18n.set_translator(gettext)
        post_save.connect(on_segment_changed, sender=Segment, dispatch_uid="tailor-segment-saved")
        post_delete.connect(on_segment_changed, sender=Segment, dispatch_uid="tailor-segment-deleted")
