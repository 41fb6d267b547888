"""Minimal settings: one app, one database, the same database options as Recours."""

import os

import dj_database_url

SECRET_KEY = os.environ.get("BARE_SECRET_KEY", "bare-benchmark-only")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["bare"]
# Django's CommonMiddleware only: the baseline is a bare endpoint.
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "bare.urls"
WSGI_APPLICATION = "bare.wsgi.application"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

_database = dj_database_url.parse(os.environ["BARE_DATABASE_URL"], conn_max_age=0)
if _database["ENGINE"] == "django.db.backends.postgresql":
    # As in recours/settings.py: psycopg's pool, so no request pays a reconnect.
    _database["OPTIONS"] = {"pool": {"min_size": 1, "max_size": 8, "timeout": 10}}
else:
    _database["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # As in recours/settings.py: the connection is kept between requests.
    _database["CONN_MAX_AGE"] = 300
    _database["CONN_HEALTH_CHECKS"] = True
DATABASES = {"default": _database}
