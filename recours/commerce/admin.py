from django.contrib import admin

from recours.commerce.models import Order, Payment, Terminal


@admin.register(Terminal)
class TerminalAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "location", "organization", "is_active"]
    list_filter = ["organization", "is_active"]
    search_fields = ["code", "name", "location"]


class PaymentInline(admin.TabularInline):
    model = Payment
    extra = 0
    can_delete = False
    readonly_fields = ["refunded_minor"]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = [
        "reference",
        "invoice_reference",
        "organization",
        "status",
        "total_minor",
        "currency",
        "placed_at",
    ]
    list_filter = ["organization", "status"]
    search_fields = ["reference", "invoice_reference", "customer__customer_number"]
    raw_id_fields = ["customer"]
    inlines = [PaymentInline]
