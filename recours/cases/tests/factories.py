from recours.cases.actions import Report, create_case
from recours.core.audit import Actor


def file_case(**fields):
    """Create a case through the real action, with sensible defaults."""
    defaults = {
        "problem": "payment_failed",
        "contact_channel": "email",
        "contact_email": "client@example.org",
        "customer_number": "C-10001",
        "payment_started": "yes",
        "description": "La borne a refusé ma carte.",
    }
    return create_case(Actor(label="customer"), Report(**{**defaults, **fields}), [])


def image_bytes(format: str = "PNG", size: tuple[int, int] = (64, 48)) -> bytes:
    """A small real image made with Pillow, e.g. a photo of a kiosk's screen."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, color=(200, 30, 30)).save(buffer, format=format)
    return buffer.getvalue()


def png_bytes() -> bytes:
    return image_bytes("PNG")
