"""A customer's portfolio, wallet and store credit in the console, and the
search that finds them.

Merchant staff see their organization's customers only; another
organization's customer answers 404, as one that does not exist.
"""

from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from recours.accounts.access import visible_customers
from recours.accounts.models import Customer, Membership
from recours.cases.access import visible_cases
from recours.commerce import portfolio
from recours.console.forms import CustomerSearchForm
from recours.console.views import as_phone, render_console, staff_required

CUSTOMERS_PAGE_SIZE = 25
HISTORY_PAGE_SIZE = 25
CASES_SHOWN_MAX = 20


def search_customers(customers: QuerySet[Customer], text: str) -> QuerySet[Customer]:
    if not text:
        return customers
    match = Q(customer_number__icontains=text) | Q(name__icontains=text)
    match |= Q(email__icontains=text)
    if phone := as_phone(text):
        match |= Q(phone=phone)
    return customers.filter(match)


@require_GET
@staff_required
def customers(request: HttpRequest, membership: Membership) -> HttpResponse:
    form = CustomerSearchForm(request.GET)
    found = search_customers(visible_customers(membership), form.value())
    found = found.select_related("organization").order_by("customer_number", "pk")
    page = Paginator(found, CUSTOMERS_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page}
    return render_console(request, membership, "console/customers.html", context)


@require_GET
@staff_required
def customer(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    found = get_object_or_404(
        visible_customers(membership).select_related("organization"), pk=pk
    )
    history = portfolio.history(found)
    page = Paginator(history, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    cases = visible_cases(membership).filter(customer=found).order_by("-created_at")
    context = {
        "customer": found,
        "holdings": portfolio.holdings(found),
        "accounts": portfolio.balance_lines(found),
        "page": page,
        "history": portfolio.history_lines(page),
        "moves": portfolio.moves_shown(found),
        "moves_max": portfolio.MOVES_SHOWN_MAX,
        "cases": cases[:CASES_SHOWN_MAX],
    }
    return render_console(request, membership, "console/customer.html", context)
