from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "recours.notifications"
    label = "notifications"

    def ready(self) -> None:
        from recours.core import worker
        from recours.notifications.models import Channel
        from recours.notifications.outbox import deliver_due, register_transport
        from recours.notifications.webhooks import WebhookTransport

        worker.register("outbox", deliver_due)
        register_transport(Channel.WEBHOOK, WebhookTransport())
