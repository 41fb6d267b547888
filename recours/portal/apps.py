from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "recours.portal"
    label = "portal"
