from django.apps import AppConfig


class RulesConfig(AppConfig):
    name = "rules"
    label = "tailor_rules"
    verbose_name = "Tailor rules"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from rules.models import Segment
        from rules.segments import on_segment_changed

        post_save.connect(on_segment_changed, sender=Segment, dispatch_uid="tailor-segment-saved")
        post_delete.connect(on_segment_changed, sender=Segment, dispatch_uid="tailor-segment-deleted")
