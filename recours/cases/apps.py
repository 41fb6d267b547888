from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "recours.cases"
    label = "cases"

    def ready(self) -> None:
        from recours.cases.deadlines import expire_due
        from recours.cases.protection import on_refund_succeeded
        from recours.core import hooks, worker

        worker.register("deadlines", expire_due)
        # The refund engine (a lower layer) says a decided refund was paid.
        hooks.register("refund.succeeded", on_refund_succeeded)
