"""Money as an integer count of minor units with an ISO 4217 currency.

No floats: amounts are parsed from strings and formatted from integers.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass

# Minor units per currency; currencies not listed have two decimals.
MINOR_DIGITS = {"JPY": 0, "KRW": 0, "XOF": 0, "XAF": 0, "BHD": 3, "KWD": 3, "TND": 3}
# Amounts are stored in 64-bit integer columns; refuse anything near the edge.
AMOUNT_MINOR_LIMIT = 10**18
AMOUNT_PATTERN = re.compile(
    r"(?P<sign>[+-]?)(?P<whole>[0-9]{1,30})(?:[.,](?P<fraction>[0-9]{1,30}))?"
)


def minor_digits(currency: str) -> int:
    return MINOR_DIGITS.get(currency, 2)


@dataclass(frozen=True, slots=True)
class Money:
    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        # Checks that hold under `python -O` too: no float ever becomes money.
        if not isinstance(self.amount_minor, int) or isinstance(
            self.amount_minor, bool
        ):
            raise TypeError(
                f"money needs an integer of minor units, not {self.amount_minor!r}"
            )
        if not (
            len(self.currency) == 3
            and self.currency.isalpha()
            and self.currency.isupper()
        ):
            raise ValueError(f"not an ISO 4217 currency code: {self.currency!r}")

    @classmethod
    def parse(cls, text: str, currency: str) -> "Money":
        """Parse "12.30", "12,30" or "-5" exactly; refuse more decimals than allowed.

        Only plain digits with one optional separator are amounts: no exponent,
        no digit grouping, no "NaN". The arithmetic is on integers, so nothing
        is ever rounded.
        """
        found = AMOUNT_PATTERN.fullmatch(text.strip())
        if found is None:
            raise ValueError(f"not an amount: {text!r}")
        sign, whole, fraction = found.group("sign", "whole", "fraction")
        digits = minor_digits(currency)
        fraction = (fraction or "").rstrip("0")
        if len(fraction) > digits:
            raise ValueError(f"too many decimals for {currency}: {text!r}")
        amount_minor = int(whole + fraction.ljust(digits, "0"))
        if amount_minor >= AMOUNT_MINOR_LIMIT:
            raise ValueError(f"amount too large: {text!r}")
        return cls(-amount_minor if sign == "-" else amount_minor, currency)

    @classmethod
    def zero(cls, currency: str) -> "Money":
        return cls(0, currency)

    def same_currency(self, other: "Money") -> None:
        """Refuse arithmetic or comparison across currencies."""
        if not isinstance(other, Money):
            raise TypeError(f"not money: {other!r}")
        if other.currency != self.currency:
            raise ValueError(f"mixed currencies: {self.currency} and {other.currency}")

    def __add__(self, other: "Money") -> "Money":
        self.same_currency(other)
        return Money(self.amount_minor + other.amount_minor, self.currency)

    def __sub__(self, other: "Money") -> "Money":
        self.same_currency(other)
        return Money(self.amount_minor - other.amount_minor, self.currency)

    def __neg__(self) -> "Money":
        return Money(-self.amount_minor, self.currency)

    def __lt__(self, other: "Money") -> bool:
        self.same_currency(other)
        return self.amount_minor < other.amount_minor

    def __le__(self, other: "Money") -> bool:
        self.same_currency(other)
        return self.amount_minor <= other.amount_minor

    def __gt__(self, other: "Money") -> bool:
        self.same_currency(other)
        return self.amount_minor > other.amount_minor

    def __ge__(self, other: "Money") -> bool:
        self.same_currency(other)
        return self.amount_minor >= other.amount_minor

    def is_zero(self) -> bool:
        return self.amount_minor == 0

    def is_negative(self) -> bool:
        return self.amount_minor < 0

    def __str__(self) -> str:
        digits = minor_digits(self.currency)
        sign = "-" if self.amount_minor < 0 else ""
        whole, fraction = divmod(abs(self.amount_minor), 10**digits)
        if digits == 0:
            return f"{sign}{whole} {self.currency}"
        return f"{sign}{whole}.{fraction:0{digits}d} {self.currency}"


def total(amounts: Iterable[Money], currency: str) -> Money:
    """The sum of amounts that must all be in `currency` (zero if none)."""
    result = Money.zero(currency)
    for amount in amounts:
        result += amount
    return result


def totals_by_currency(amounts: Iterable[Money]) -> dict[str, Money]:
    """One sum per currency, for amounts that may mix currencies."""
    sums: dict[str, Money] = {}
    for amount in amounts:
        sums[amount.currency] = (
            sums.get(amount.currency, Money.zero(amount.currency)) + amount
        )
    return sums
