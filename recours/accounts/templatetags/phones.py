"""`{{ number|phone }}`: a stored E.164 number as people write it.

A number of the default region reads in its national format ("06 12 34 56 78"),
another in the international one ("+44 20 7946 0958"). Text that is not a
number (an e-mail address, a typo kept as given) is shown unchanged.
"""

from django import template

from recours.accounts.phones import for_display

register = template.Library()


@register.filter
def phone(value: object) -> str:
    return for_display(str(value or ""))
