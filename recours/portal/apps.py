from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "recours.portal"
    label = "portal"

    def ready(self) -> None:
        from recours.core import worker
        from recours.portal.staging import purge_due

        worker.register("portal-staging-purge", purge_due)
