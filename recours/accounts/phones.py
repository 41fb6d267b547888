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
