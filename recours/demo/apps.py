from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "recours.demo"
    label = "demo"
