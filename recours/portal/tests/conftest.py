import pytest


@pytest.fixture(autouse=True)
def _english(settings):
    # Assertions read the English texts; the French ones have their own test.
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def report_data(kiosk):
    """What a customer types on the report form for a kiosk payment."""
    return {
        "terminal": kiosk.code,
        "payment_started": "yes",
        "customer_number": "C-10001",
        "phone": "",
        "invoice_reference": "",
        "order_reference": "",
        "problem": "payment_failed",
        "description": "The screen froze after I tapped my card.",
        "contact_channel": "email",
        "contact_email": "camille@example.org",
        "contact_phone": "",
    }
