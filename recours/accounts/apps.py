from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "recours.accounts"
    label = "accounts"
