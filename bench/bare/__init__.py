"""The bare baseline of bench/http_intake.py: Django + django-ninja, one table.

It validates the same JSON body as `POST /api/v1/cases` with a similar pydantic
schema and inserts one row; nothing else (no key, no matching, no audit, no
outbox). Run only by the benchmark, with DJANGO_SETTINGS_MODULE=bare.settings
and bench/ on the path.
"""
