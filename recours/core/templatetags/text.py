"""Typography in templates.

`{{ reference|nowrap }}`: a word that must not break, even inside a translation.
`{% colon %}`: the ":" after a label, with French's no-break space before it.
"""

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import get_language

register = template.Library()


@register.filter
def nowrap(value: object) -> SafeString:
    # A reference breaks at its hyphens on a phone; the span keeps it whole.
    return format_html('<span class="nowrap">{}</span>', value)


@register.simple_tag
def colon() -> str:
    """The colon after text written in a template, French-style in French."""
    language = get_language() or ""
    return "\u00a0:" if language.startswith("fr") else ":"
