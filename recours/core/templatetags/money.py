"""`{{ amount|money }}`: a Money in the reader's language, e.g. "35,00 €" in French.

`{{ answer.amount_minor|money_in:answer.currency }}`: the same for an amount
stored as minor units and a currency in two columns.
"""

from decimal import Decimal

from django import template
from django.utils.formats import number_format

from recours.core.money import Money, minor_digits

register = template.Library()
SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "CHF": "CHF"}


@register.filter
def money(value: Money | None) -> str:
    if value is None:
        return ""
    digits = minor_digits(value.currency)
    amount = Decimal(value.amount_minor).scaleb(-digits)
    text = number_format(amount, decimal_pos=digits, use_l10n=True, force_grouping=True)
    # A no-break space keeps the amount and its currency on one line.
    return f"{text}\u00a0{SYMBOLS.get(value.currency, value.currency)}"


@register.filter
def money_in(amount_minor: int | None, currency: str) -> str:
    if amount_minor is None or not currency:
        return ""
    return money(Money(amount_minor, currency))
