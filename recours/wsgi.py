import os

from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

from recours.cli import exit_on_configuration_error

# gunicorn stops (instead of restarting workers in a loop) when a worker exits
# with its "App failed to load" status.
GUNICORN_APP_LOAD_ERROR_STATUS = 4

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recours.settings")
try:
    application = get_wsgi_application()
except ImproperlyConfigured as error:
    exit_on_configuration_error(error, GUNICORN_APP_LOAD_ERROR_STATUS)
