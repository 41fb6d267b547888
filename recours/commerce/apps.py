from django.apps import AppConfig


class CommerceConfig(AppConfig):
    name = "recours.commerce"
    label = "commerce"
