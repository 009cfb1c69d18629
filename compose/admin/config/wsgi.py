"""WSGI entry point, served by gunicorn: `gunicorn config.wsgi:application`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# The WSGI application gunicorn serves.
application = get_wsgi_application()
