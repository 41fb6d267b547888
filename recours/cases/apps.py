from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "recours.cases"
    label = "cases"

    def ready(self) -> None:
        from recours.cases.actions import expire_due
        from recours.core import worker

        worker.register("deadlines", expire_due)
