import phonenumbers
from django.conf import settings


def to_e164(text: str, region: str | None = None) -> str:
    """Return the number in E.164, or raise ValueError if it is not a valid number."""
    try:
        number = phonenumbers.parse(text, region or settings.DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException as error:
        raise ValueError(str(error)) from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def for_display(text: str, region: str | None = None) -> str:
    """National format for the region's numbers, international for the others."""
    region = region or settings.DEFAULT_PHONE_REGION
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return text
    if not phonenumbers.is_valid_number(number):
        return text
    if phonenumbers.region_code_for_number(number) == region:
        return phonenumbers.format_number(
            number, phonenumbers.PhoneNumberFormat.NATIONAL
        )
    return phonenumbers.format_number(
        number, phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
