"""`{{ deadline_at|moment }}`: a deadline as people read it in a message.

The date and time in the reader's format and the operator's time zone, then
that zone's abbreviation ("7 mars 2026, 10:00 CET"): a merchant or customer
elsewhere can tell which midnight a deadline means.
"""

from datetime import datetime

from django import template
from django.utils import dateformat, formats

register = template.Library()


# expects_localtime: Django hands the filter the value in the current time zone.
@register.filter(expects_localtime=True)
def moment(value: datetime | None) -> str:
    if value is None:
        return ""
    when = formats.date_format(value, "DATETIME_FORMAT")
    return f"{when} {dateformat.format(value, 'T')}"
