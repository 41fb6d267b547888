from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Operations: /healthz, /readyz and Prometheus metrics at /metrics."""

    name = "recours.ops"
    label = "ops"
    verbose_name = "Operations"
