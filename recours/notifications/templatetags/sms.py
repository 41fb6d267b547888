"""`{% filter gsm7 %}…{% endfilter %}`: text an SMS can carry in one 160-character part.

One character outside the GSM 03.38 alphabet (a curly quote pasted by staff, the
no-break space French puts before ":") switches the whole SMS to UCS-2, which
holds 70 characters a part: the message then costs two or three parts.
"""

import unicodedata

from django import template

register = template.Library()

GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Characters of the extension table cost two septets but keep the encoding.
GSM7_EXTENSION = frozenset("^{}\\[~]|€")
LOOKALIKES = {
    "\u00a0": " ", "\u202f": " ", "\u2009": " ",
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
    "\u00ab": '"', "\u00bb": '"', "\u2013": "-", "\u2014": "-", "\u2026": "...",
    "ç": "c", "\t": " ",
}  # fmt: skip


def gsm7_character(character: str) -> str:
    if character in GSM7 or character in GSM7_EXTENSION:
        return character
    if character in LOOKALIKES:
        return LOOKALIKES[character]
    # "ê" becomes "e": drop the accents the alphabet does not have.
    bare = "".join(
        part
        for part in unicodedata.normalize("NFKD", character)
        if not unicodedata.combining(part)
    )
    if bare and all(part in GSM7 for part in bare):
        return bare
    return "?"


@register.filter(is_safe=True)
def gsm7(text: str) -> str:
    return "".join(gsm7_character(character) for character in str(text))
