from django.apps import AppConfig


class IntegrityConfig(AppConfig):
    name = "recours.integrity"
    label = "integrity"
    verbose_name = "Integrity"

    def ready(self) -> None:
        from recours.core import worker
        from recours.integrity import reconcile

        worker.register("integrity-reconcile", reconcile.run_if_due)
