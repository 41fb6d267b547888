import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin
from django.core.files.storage import storages
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Serve Recours with gunicorn and run the worker beside it."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--bind", default=os.environ.get("BIND", "127.0.0.1:8000"))
        parser.add_argument("--web-workers", type=int, default=3)
        parser.add_argument("--no-worker", action="store_true")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        if static_files_missing():
            # Every HTML page would be a 500 ("Missing staticfiles manifest entry").
            raise CommandError(
                "static files are not collected: run "
                "`recours collectstatic --no-input` first"
            )
        # --preload loads the app once, in the master: a configuration error
        # stops gunicorn with one line instead of failing every worker.
        command = [
            sys.executable, "-m", "gunicorn", "recours.wsgi:application",
            "--bind", options["bind"], "--workers", str(options["web_workers"]),
            "--access-logfile", "-", "--timeout", "30", "--preload",
        ]  # fmt: skip
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(fresh_metrics_dir())}
        processes = [subprocess.Popen(command, env=env)]  # noqa: S603 (our own argv)
        if not options["no_worker"]:
            worker = [sys.executable, "-m", "recours.cli", "worker"]
            processes.append(subprocess.Popen(worker, env=env))  # noqa: S603
        self.stdout.write(
            f"Recours is serving on http://{options['bind']} "
            f"(public address {settings.SITE_URL})"
        )
        status = supervise(processes)
        if status:
            raise CommandError(
                f"a process stopped with status {status}; stopped the others",
                returncode=status,
            )


def supervise(processes: list[subprocess.Popen]) -> int:
    """Wait until one process stops or serve is told to stop (SIGTERM, Ctrl-C),
    then stop them all; return the status of a process that stopped by itself."""
    stop = threading.Event()
    # Without this, SIGTERM (docker stop, systemd) killed serve and left
    # gunicorn and the worker running.
    signal.signal(signal.SIGTERM, lambda *_args: stop.set())
    died = None
    try:
        while not stop.is_set() and died is None:
            died = next((p for p in processes if p.poll() is not None), None)
            stop.wait(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            process.wait(timeout=30)
    return (died.returncode or 1) if died is not None else 0


def fresh_metrics_dir() -> Path:
    """An empty directory where each gunicorn process keeps its metric counts
    (prometheus_client's multiprocess mode); counts of a previous run would be
    added to this one's, so the files are removed first."""
    configured = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    directory = Path(configured) if configured else settings.VAR_DIR / "prometheus"
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    return directory


def static_files_missing() -> bool:
    """Whether the manifest storage serves pages without its manifest."""
    storage = storages["staticfiles"]
    if not isinstance(storage, ManifestFilesMixin):
        return False
    return not storage.exists(storage.manifest_name)
