from django.contrib import admin

from recours.cases.models import Case


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    """Read-only: cases change only through their actions (the console), never by hand."""

    list_display = [
        "reference",
        "organization",
        "kind",
        "status",
        "priority",
        "team",
        "created_at",
    ]
    list_filter = ["kind", "status", "priority", "team", "organization"]
    search_fields = [
        "reference",
        "contact_email",
        "contact_phone",
        "given_customer_number",
    ]

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False
