from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "recours.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from recours.core import append_only, heartbeat, ratelimit, worker

        connection_created.connect(append_only.register_sqlite_function)

        # Returns 0 so an idle worker still sleeps after purging.
        worker.register("ratelimit-purge", lambda: ratelimit.purge_old() and 0)
        # For /readyz: "a worker was seen recently".
        worker.register("heartbeat", heartbeat.beat)
