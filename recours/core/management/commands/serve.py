import os
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve Recours with gunicorn and run the worker beside it."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--bind", default=os.environ.get("BIND", "127.0.0.1:8000"))
        parser.add_argument("--web-workers", type=int, default=3)
        parser.add_argument("--no-worker", action="store_true")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        command = [
            sys.executable, "-m", "gunicorn", "recours.wsgi:application",
            "--bind", options["bind"], "--workers", str(options["web_workers"]),
            "--access-logfile", "-", "--timeout", "30",
        ]  # fmt: skip
        processes = [subprocess.Popen(command)]  # noqa: S603 (our own argv)
        if not options["no_worker"]:
            worker = [sys.executable, "-m", "recours.cli", "worker"]
            processes.append(subprocess.Popen(worker))  # noqa: S603
        self.stdout.write(f"Recours is serving on {settings.SITE_URL}")
        try:
            while all(process.poll() is None for process in processes):
                time.sleep(1)
        except KeyboardInterrupt:
            pass
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=30)
