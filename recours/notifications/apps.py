from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "recours.notifications"
    label = "notifications"

    def ready(self) -> None:
        from recours.core import worker
        from recours.notifications.outbox import deliver_due

        worker.register("outbox", deliver_due)
