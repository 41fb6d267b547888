from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "recours.ledger"
    label = "ledger"
    verbose_name = "Ledger"
