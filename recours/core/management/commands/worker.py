import logging

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from recours.core.worker import JOBS, Loop


class Command(BaseCommand):
    help = "Run the background worker: outbox delivery, deadlines and other jobs."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--once", action="store_true", help="one pass, then exit")
        parser.add_argument(
            "--idle-seconds",
            type=float,
            default=None,
            help="sleep when there is nothing to do (default WORKER_IDLE_SECONDS)",
        )

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        idle = options["idle_seconds"]
        loop = Loop(settings.WORKER_IDLE_SECONDS if idle is None else idle)
        logging.getLogger("recours.worker").info("worker started: %s", ", ".join(JOBS))
        if options["once"]:
            handled = loop.run_pass()
            self.stdout.write(f"handled {handled} item(s)")
            if loop.failed:
                # A scheduler running `--once` must see the failure (exit 1).
                raise CommandError(f"job(s) failed: {', '.join(loop.failed)}")
            return
        loop.forever()
