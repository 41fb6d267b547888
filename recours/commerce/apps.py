from django.apps import AppConfig


class CommerceConfig(AppConfig):
    name = "recours.commerce"
    label = "commerce"

    def ready(self) -> None:
        from recours.commerce import actions
        from recours.core import worker

        worker.register("reservations-purge", actions.purge_expired_reservations)
        worker.register("transfers-lapse", actions.lapse_deferred_payments)
