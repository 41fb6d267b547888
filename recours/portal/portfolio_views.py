"""My portfolio: the items a customer holds, their wallet and store credit
and the history behind them, opened like the status page with a code.

The customer types their customer number; a code goes to the phone or
address we have for it. Only then does the session remember which customer
it proved to be, and the page shows that customer's data and nothing else.
"""

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from recours.accounts.models import Customer
from recours.commerce import actions, portfolio
from recours.core.ratelimit import over_limit, too_many_requests
from recours.portal.forms import CodeForm, CustomerNumberForm

PORTFOLIO_PENDING_KEY = "portal.portfolio_number"
PORTFOLIO_CUSTOMER_KEY = "portal.portfolio_customer"
HISTORY_PAGE_SIZE = 20


@require_http_methods(["GET", "POST"])
def start(request: HttpRequest) -> HttpResponse:
    """Step 1: the customer number. A code goes to each customer holding it."""
    if request.method == "GET":
        context = {"form": CustomerNumberForm()}
        return render(request, "portal/portfolio_start.html", context)
    if over_limit(request, "portfolio", settings.STATUS_RATE_LIMIT):
        return too_many_requests(request)
    form = CustomerNumberForm(request.POST)
    if not form.is_valid():
        context = {"form": form}
        return render(request, "portal/portfolio_start.html", context, status=422)
    number = form.cleaned_data["customer_number"].strip()
    for customer in portfolio.customers_numbered(number):
        actions.send_portfolio_code(customer)
    # The next page reads the same whether or not the number exists.
    request.session[PORTFOLIO_PENDING_KEY] = number
    return redirect("portal:portfolio_code")


@require_http_methods(["GET", "POST"])
def code(request: HttpRequest) -> HttpResponse:
    """Step 2: the code that was sent."""
    number = request.session.get(PORTFOLIO_PENDING_KEY)
    if not number:
        return redirect("portal:portfolio")
    form = CodeForm(request.POST) if request.method == "POST" else CodeForm()
    if form.is_bound:
        if over_limit(request, "portfolio-code", settings.STATUS_RATE_LIMIT):
            return too_many_requests(request)
        if form.is_valid():
            customer = actions.check_portfolio_code(
                portfolio.customers_numbered(number), form.cleaned_data["code"]
            )
            if customer is not None:
                remember(request, customer)
                return redirect("portal:portfolio_mine")
            form.add_error("code", _("This code is not valid or has expired."))
    context = {"form": form, "customer_number": number}
    status = 422 if form.errors else 200
    return render(request, "portal/portfolio_code.html", context, status=status)


def remember(request: HttpRequest, customer: Customer) -> None:
    # A new session key once the customer proved who they are (no fixation).
    request.session.cycle_key()
    request.session[PORTFOLIO_CUSTOMER_KEY] = customer.pk
    request.session.pop(PORTFOLIO_PENDING_KEY, None)


def proved_customer(request: HttpRequest) -> Customer | None:
    pk = request.session.get(PORTFOLIO_CUSTOMER_KEY)
    if pk is None:
        return None
    return Customer.objects.select_related("organization").filter(pk=pk).first()


@require_GET
def mine(request: HttpRequest) -> HttpResponse:
    customer = proved_customer(request)
    if customer is None:
        return redirect("portal:portfolio")
    page = Paginator(portfolio.history(customer), HISTORY_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "customer": customer,
        "holdings": portfolio.holdings(customer),
        "accounts": portfolio.balance_lines(customer),
        "page": page,
        "history": portfolio.history_lines(page),
    }
    return render(request, "portal/portfolio.html", context)


@require_POST
def signout(request: HttpRequest) -> HttpResponse:
    """Forget what this browser proved (a shared or kiosk device)."""
    request.session.flush()
    messages.success(request, _("You are signed out. Your portfolio needs a new code."))
    return redirect("portal:portfolio")
