from django.core.management.base import BaseCommand, CommandError

from rules.segments import discover_segments


class Command(BaseCommand):
    help = (
        "Cluster consented visitor profiles (k-means) into proposed segments with a plain-language summary. "
        "Proposals are created disabled: an editor names and approves the ones worth using."
    )

    def add_arguments(self, parser):
        parser.add_argument("--clusters", type=int, default=None, help="k (default: chosen by silhouette, 2-6)")
        parser.add_argument("--min-profiles", type=int, default=50, help="Refuse to cluster fewer profiles")
        parser.add_argument("--max-profiles", type=int, default=20000, help="Most recent profiles to use")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--dry-run", action="store_true", help="Print the proposals without saving them")

    def handle(self, *args, clusters, min_profiles, max_profiles, seed, dry_run, **options):
        try:
            outcome = discover_segments(
                clusters=clusters, min_profiles=min_profiles, max_profiles=max_profiles, seed=seed, dry_run=dry_run
            )
        except ValueError as e:
            raise CommandError(str(e)) from None
        if outcome.message:
            self.stdout.write(outcome.message)
            return
        self.stdout.write(f"{outcome.profiles} profiles, {len(outcome.proposals)} clusters:")
        for i, (summary, size) in enumerate(outcome.proposals, 1):
            self.stdout.write(f"  #{i}: {size} visitors: {summary}")
        if outcome.saved:
            self.stdout.write(self.style.SUCCESS(f"Saved {len(outcome.proposals)} proposed segments (disabled)."))
