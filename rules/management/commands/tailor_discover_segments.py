from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from rules.ml.clustering import discover
from rules.models import Segment
from rules.profiles import profile_store


class Command(BaseCommand):
    help = (
        "Cluster consented visitor profiles (k-means) into proposed segments with a plain-language summary. "
        "Proposals are created disabled: an editor names and enables the ones worth using."
    )

    def add_arguments(self, parser):
        parser.add_argument("--clusters", type=int, default=None, help="k (default: chosen by silhouette, 2-6)")
        parser.add_argument("--min-profiles", type=int, default=50, help="Refuse to cluster fewer profiles")
        parser.add_argument("--max-profiles", type=int, default=20000, help="Most recent profiles to use")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--dry-run", action="store_true", help="Print the proposals without saving them")

    def handle(self, *args, clusters, min_profiles, max_profiles, seed, dry_run, **options):
        if clusters is not None and clusters < 1:
            raise CommandError("--clusters must be at least 1")
        profiles = [p for p in profile_store().all(max_profiles) if p.page_views > 0]
        if len(profiles) < max(4, min_profiles):
            raise CommandError(
                f"Only {len(profiles)} consented profiles with page views; need {max(4, min_profiles)} "
                "(lower --min-profiles to cluster fewer)"
            )
        run = timezone.now().strftime("%Y%m%d%H%M%S")
        try:
            found = discover(profiles, clusters=clusters, seed=seed, run=run)
        except ValueError as e:
            raise CommandError(str(e)) from None
        self.stdout.write(f"{len(profiles)} profiles, {len(found.clusters)} clusters:")
        for c in sorted(found.clusters, key=lambda c: -c.size):
            self.stdout.write(f"  #{c.index + 1}: {c.size} visitors: {c.summary}")
        if dry_run:
            return
        with transaction.atomic():
            # Proposals nobody enabled are replaced; enabled (named) segments stay with their own run.
            Segment.objects.filter(kind=Segment.KIND_DISCOVERED, enabled=False).delete()
            for c in found.clusters:
                Segment.objects.create(
                    name=f"Discovered {run}-{c.index + 1}: {c.summary}"[:100],
                    slug=f"discovered-{run}-{c.index + 1}",
                    kind=Segment.KIND_DISCOVERED,
                    enabled=False,
                    summary=c.summary,
                    description=f"{c.size} of {len(profiles)} visitors in run {run}. Name it and enable it to use it.",
                    cluster=found.cluster_json(c.index),
                    size=c.size,
                )
        self.stdout.write(self.style.SUCCESS(f"Saved {len(found.clusters)} proposed segments (disabled)."))
