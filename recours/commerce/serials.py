"""Serial numbers of items: the type's pattern, then its check digit.

A serial is stored as typed, trimmed and upper-cased. Separators (anything
that is not a letter or a digit) never count in a check digit, so
"BR-2024-0000-17" and "BR20240000 17" carry the same one:

- Luhn (mod 10): over the serial's digits only (letters are ignored), the
  last digit makes the Luhn sum a multiple of 10, as on payment cards.
- ISO 7064 MOD 97-10: over letters and digits (A = 10 … Z = 35, as IBANs
  read them), the last two digits make the number equal 1 modulo 97.

`serial_problem` says what is wrong with a serial, or None; `check_serial`
raises it as InvalidInput. The integrity detectors use the same functions.
"""

import re

from django.utils.translation import gettext as _

from recours.core.errors import InvalidInput

LUHN = "luhn"
MOD97 = "mod97"
NONE = "none"


def normalize(serial: str) -> str:
    return serial.strip().upper()


def alphanumerics(serial: str) -> str:
    return "".join(char for char in serial.upper() if char.isascii() and char.isalnum())


def luhn_sum(digits: str) -> int:
    """The Luhn sum of `digits`, doubling every second digit from the right."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total


def luhn_check_digit(payload: str) -> str:
    """The digit to append to `payload` (its digits) to make it Luhn-valid."""
    digits = "".join(char for char in payload if char.isdigit())
    return str((10 - luhn_sum(digits + "0") % 10) % 10)


def luhn_valid(serial: str) -> bool:
    digits = "".join(char for char in serial if char.isascii() and char.isdigit())
    return len(digits) >= 2 and luhn_sum(digits) % 10 == 0


def as_number(text: str) -> int:
    """Letters and digits read as one number, A = 10 … Z = 35 (ISO 7064)."""
    return int("".join(str(int(char, 36)) for char in text))


def mod97_check_digits(payload: str) -> str:
    """The two digits to append to `payload` to make it MOD 97-10 valid."""
    return f"{98 - as_number(alphanumerics(payload) + '00') % 97:02d}"


def mod97_valid(serial: str) -> bool:
    text = alphanumerics(serial)
    return len(text) >= 3 and text[-2:].isdigit() and as_number(text) % 97 == 1


CHECKS = {LUHN: luhn_valid, MOD97: mod97_valid}


def with_check_digit(payload: str, check_digit: str) -> str:
    """`payload` completed with its check digit(s), for stock and tests."""
    if check_digit == LUHN:
        return payload + luhn_check_digit(payload)
    if check_digit == MOD97:
        return payload + mod97_check_digits(payload)
    return payload


def serial_problem(pattern: str, check_digit: str, serial: str) -> str | None:
    """What is wrong with `serial` for a type with this pattern and check
    digit, in a sentence, or None when it is right."""
    serial = normalize(serial)
    if not serial:
        return _("The serial number is empty.")
    if re.fullmatch(pattern, serial) is None:
        return _("The serial number %(serial)s does not have the expected format.") % {
            "serial": serial
        }
    check = CHECKS.get(check_digit)
    if check is not None and not check(serial):
        return _("The check digit of serial number %(serial)s is wrong.") % {
            "serial": serial
        }
    return None


def check_serial(pattern: str, check_digit: str, serial: str) -> str:
    """The normalized serial; raises InvalidInput saying what is wrong."""
    problem = serial_problem(pattern, check_digit, serial)
    if problem is not None:
        raise InvalidInput(problem, fields={"serial": [problem]})
    return normalize(serial)
