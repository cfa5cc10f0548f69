# The durable dedupe mark of counted events: one row per (decision token, kind), backfilled from the
# event log rows of tokens that may still be used, so replaying an event counted before stays a duplicate.

from datetime import timedelta

from django.db import migrations, models
from django.utils import timezone


def backfill_receipts(apps, schema_editor):
    from tailor.settings import tailor_settings

    Event = apps.get_model("tailor_variants", "Event")
    EventReceipt = apps.get_model("tailor_variants", "EventReceipt")
    since = timezone.now() - timedelta(seconds=int(tailor_settings.TOKEN_MAX_AGE) + 60)
    rows = Event.objects.filter(created_at__gte=since).order_by("id").values_list("token_id", "kind", "created_at")
    batch = []
    for token_id, kind, created_at in rows.iterator(chunk_size=2000):
        batch.append(EventReceipt(token_id=token_id, kind=kind, created_at=created_at))
        if len(batch) >= 2000:
            EventReceipt.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    EventReceipt.objects.bulk_create(batch, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [
        ("tailor_variants", "0003_experiments_and_propensity"),
    ]

    operations = [
        migrations.CreateModel(
            name="EventReceipt",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "token_id",
                    models.CharField(help_text="The decision token's nonce", max_length=32, verbose_name="token id"),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[("impression", "Impression"), ("click", "Click"), ("conversion", "Conversion")],
                        max_length=16,
                        verbose_name="kind",
                    ),
                ),
                ("created_at", models.DateTimeField(db_index=True, verbose_name="recorded at")),
            ],
            options={
                "verbose_name": "event receipt",
                "verbose_name_plural": "event receipts",
                "constraints": [
                    models.UniqueConstraint(fields=("token_id", "kind"), name="tailor_event_once_per_token_kind")
                ],
            },
        ),
        migrations.RunPython(backfill_receipts, migrations.RunPython.noop),
    ]
