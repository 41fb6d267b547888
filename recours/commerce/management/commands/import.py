"""Import a shop's orders, payments, shipments and refunds from CSV files.

    recours import --organization SLUG [--orders F] [--payments F]
                   [--shipments F] [--refunds F] [--dry-run]

Every file is read and every row checked before anything is written; one
rejected row and nothing is imported. Columns: README.md, "Import".
"""

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recours.accounts.models import Organization
from recours.commerce import imports
from recours.core.audit import Actor
from recours.core.errors import DomainError

ACTOR = Actor.system("cli:import")
BAR_WIDTH = 30
REJECTIONS_SHOWN_MAX = 1000


class ProgressBar:
    """One line on stderr, redrawn in place, at most once per percent."""

    def __init__(self, stream: Any, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled
        self.drawn: tuple[str, int] | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        percent = 100 if total <= 0 else min(100, done * 100 // total)
        if self.drawn == (stage, percent):
            return
        if self.drawn is not None and self.drawn[0] != stage:
            self.stream.write("\n")
        self.drawn = (stage, percent)
        filled = BAR_WIDTH * percent // 100
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        self.stream.write(f"\r{stage:<28} [{bar}] {percent:3d}% {done}/{total}")
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled and self.drawn is not None:
            self.stream.write("\n")
            self.stream.flush()


def count_rows(path: Path) -> int:
    with path.open("rb") as file:
        return max(0, sum(1 for _line in file) - 1)


class Command(BaseCommand):
    help = "Import orders, payments, shipments and refunds from CSV files."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organization", required=True, help="the merchant's slug")
        for kind in imports.KINDS:
            parser.add_argument(f"--{kind}", type=Path, help=f"a CSV file of {kind}")
        parser.add_argument(
            "--dry-run", action="store_true", help="check and report, write nothing"
        )
        parser.add_argument(
            "--progress",
            choices=("auto", "always", "never"),
            default="auto",
            help="the progress bar on stderr (auto: when stderr is a terminal)",
        )

    def handle(self, *args: object, **options: object) -> None:
        organization = merchant_with_slug(str(options["organization"]))
        files = {kind: options[kind] for kind in imports.KINDS if options[kind]}
        if not files:
            raise CommandError("Give at least one file: --orders, --payments, ...")
        bar = ProgressBar(self.stderr._out, progress_wanted(str(options["progress"])))
        try:
            batch = read_files(files, bar)  # type: ignore[arg-type]
            report = imports.run_import(
                ACTOR, organization, batch, dry_run=bool(options["dry_run"]),
                progress=bar,
            )  # fmt: skip
        except DomainError as error:
            raise CommandError(str(error.message)) from None
        finally:
            bar.finish()
        self.print_report(report, {kind: path.name for kind, path in files.items()})  # type: ignore[attr-defined]
        if report.rejected:
            raise CommandError(
                f"Nothing imported: {len(report.rejected)} row(s) rejected."
            )

    def print_report(self, report: imports.Report, names: dict[str, str]) -> None:
        for kind in names:
            self.stdout.write(
                f"{kind}: {report.created[kind]} new, "
                f"{report.unchanged[kind]} already imported (unchanged)"
            )
        for rejection in report.rejected[:REJECTIONS_SHOWN_MAX]:
            self.stdout.write(describe(rejection, names))
        if len(report.rejected) > REJECTIONS_SHOWN_MAX:
            hidden = len(report.rejected) - REJECTIONS_SHOWN_MAX
            self.stdout.write(f"... and {hidden} more rejected row(s).")
        self.stdout.write(summary(report))


def summary(report: imports.Report) -> str:
    created = sum(report.created.values())
    if report.rejected:
        return f"Rejected: {len(report.rejected)} row(s). Nothing was written."
    if report.dry_run:
        return f"Dry run: {created} row(s) would be imported. Nothing was written."
    if created == 0:
        return "Nothing to import: every row was already imported."
    return f"Imported {created} row(s)."


def describe(rejection: imports.Rejection, names: dict[str, str]) -> str:
    what = f" ({rejection.external_id})" if rejection.external_id else ""
    reasons = " ".join(rejection.reasons)
    return f"REJECTED {names[rejection.kind]} line {rejection.line}{what}: {reasons}"


def progress_wanted(choice: str) -> bool:
    if choice == "auto":
        return sys.stderr.isatty()
    return choice == "always"


def merchant_with_slug(slug: str) -> Organization:
    organization = Organization.objects.filter(slug=slug).first()
    if organization is None:
        raise CommandError(f"No organization has the slug {slug!r}.")
    if organization.is_platform:
        raise CommandError("Import into a merchant organization, not the platform.")
    return organization


def read_files(files: dict[str, Path], bar: ProgressBar) -> imports.Batch:
    batch = imports.Batch()
    for kind, path in files.items():
        try:
            total = count_rows(path)
            # utf-8-sig: spreadsheets often start their CSV with a byte-order mark.
            with path.open(encoding="utf-8-sig", newline="") as file:
                imports.read_csv(batch, kind, path.name, file, bar, total)
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}") from None
    return batch
