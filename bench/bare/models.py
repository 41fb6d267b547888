from django.db import models


class Report(models.Model):
    """The report's fields as typed, one row per request."""

    problem = models.CharField(max_length=30)
    contact_channel = models.CharField(max_length=10)
    terminal_code = models.CharField(max_length=30, blank=True)
    order_reference = models.CharField(max_length=40, blank=True)
    payment_started = models.CharField(max_length=10, blank=True)
    customer_number = models.CharField(max_length=40, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    invoice_reference = models.CharField(max_length=40, blank=True)
    contact_email = models.CharField(max_length=254, blank=True)
    contact_phone = models.CharField(max_length=40, blank=True)
    description = models.TextField(blank=True)
    language = models.CharField(max_length=8, blank=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.problem} {self.created_at}"
