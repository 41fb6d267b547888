from django.apps import AppConfig


class CommerceConfig(AppConfig):
    name = "recours.commerce"
    label = "commerce"

    def ready(self) -> None:
        from recours.commerce import actions, protection
        from recours.core import worker

        worker.register("reservations-purge", actions.purge_expired_reservations)
        worker.register("transfers-lapse", actions.lapse_deferred_payments)
        worker.register("protection-reminders", protection.send_due_reminders)
        worker.register("protection-expiry", protection.expire_due)
