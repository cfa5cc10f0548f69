from django.apps import AppConfig
from django.core.signals import setting_changed
from django.db.models.signals import post_delete, post_save
from django.utils.translation import get_language, gettext, ngettext, pgettext
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
        i18n.set_translator(gettext, ngettext, pgettext, get_language)
        setting_changed.connect(_forget_translations, dispatch_uid="tailor-i18n-settings")
        post_save.connect(on_segment_changed, sender=Segment, dispatch_uid="tailor-segment-saved")
        post_delete.connect(on_segment_changed, sender=Segment, dispatch_uid="tailor-segment-deleted")
        # journey stages are compiled with the same shared rules version (rules.journeys)
        from rules.models import JourneyStage

        post_save.connect(on_segment_changed, sender=JourneyStage, dispatch_uid="tailor-stage-saved")
        post_delete.connect(on_segment_changed, sender=JourneyStage, dispatch_uid="tailor-stage-deleted")


def _forget_translations(setting, **kwargs):
    # Django reloads its catalogues when these change (tests); the engine's remembered words go too.
    if setting in ("LANGUAGE_CODE", "LANGUAGES", "LOCALE_PATHS"):
        i18n.clear_memo()
