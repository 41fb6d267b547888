"""`recours reconcile`: run every integrity detector over all history."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recours.accounts.models import Organization
from recours.core.errors import InvalidInput
from recours.integrity import reconcile, settlement
from recours.integrity.reconcile import Counts


class Command(BaseCommand):
    help = (
        "Run the integrity detectors over all history; each new finding opens an "
        "integrity case. Exits 0 whatever is found."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--settlement",
            metavar="FILE.csv",
            help="provider settlement report: provider_payment_id,type,amount,"
            "currency,date",
        )
        parser.add_argument(
            "--organization",
            metavar="SLUG",
            help="whose provider account the settlement file is (default: the "
            "platform)",
        )

    def handle(self, *args: object, **options: str | None) -> None:
        report = self.read_settlement(options["settlement"])
        organization = self.organization(options["organization"])
        counts = reconcile.run(report, organization, progress=self.progress)
        found = sum(count.found for count in counts.values())
        new = sum(count.new for count in counts.values())
        self.stdout.write(f"{found} found, {new} new, over {len(counts)} detectors")

    def progress(self, kind: str, counts: Counts) -> None:
        self.stdout.write(f"{kind}: {counts.found} found, {counts.new} new")

    def read_settlement(self, path: str | None) -> settlement.Settlement | None:
        if not path:
            return None
        try:
            with open(path, newline="", encoding="utf-8-sig") as lines:
                return settlement.read(lines)
        except OSError as error:
            raise CommandError(f"cannot read {path}: {error.strerror}") from None
        except InvalidInput as error:
            raise CommandError(error.message) from None

    def organization(self, slug: str | None) -> Organization | None:
        if not slug:
            return None
        found = Organization.objects.filter(slug=slug).first()
        if found is None:
            raise CommandError(f"no organization {slug!r}")
        return found
