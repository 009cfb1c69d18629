"""`manage.py ensure_superuser`: makes the admin superuser from the environment,
once.

Reads DJANGO_SUPERUSER_USERNAME, DJANGO_SUPERUSER_PASSWORD and
DJANGO_SUPERUSER_EMAIL (the variables of `createsuperuser --noinput`).  When
the user already exists it changes nothing.  With --generate, a missing
username defaults to "admin" and a missing password is generated; the
credentials are then printed once, when the user is made.
"""

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    """Creates the superuser named by the environment unless it exists."""

    help = "Create the superuser named by DJANGO_SUPERUSER_* unless it exists."

    def add_arguments(self, parser):
        """Adds --generate and --database."""
        parser.add_argument(
            "--generate",
            action="store_true",
            help="generate a password (and use the username 'admin') when none is given",
        )
        parser.add_argument("--database", default="default")

    def handle(self, *args, generate=False, database="default", **options):
        """Creates the user through createsuperuser --noinput, or says it exists."""
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME") or ("admin" if generate else "")
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD", "")
        email = os.environ.get("DJANGO_SUPERUSER_EMAIL", "")
        if not username:
            raise CommandError("DJANGO_SUPERUSER_USERNAME is not set (or use --generate)")
        users = get_user_model()._default_manager.db_manager(database)
        if users.filter(**{get_user_model().USERNAME_FIELD: username}).exists():
            self.stdout.write(f"superuser {username!r} already exists; left as it is")
            return
        generated = False
        if not password:
            if not generate:
                raise CommandError("DJANGO_SUPERUSER_PASSWORD is not set (or use --generate)")
            password = secrets.token_urlsafe(15)
            generated = True
        env = {
            "DJANGO_SUPERUSER_USERNAME": username,
            "DJANGO_SUPERUSER_PASSWORD": password,
            "DJANGO_SUPERUSER_EMAIL": email,
        }
        saved = {key: os.environ.get(key) for key in env}
        os.environ.update(env)
        try:
            call_command("createsuperuser", interactive=False, database=database, verbosity=0)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        if generated:
            self.stdout.write(f"superuser created: username={username} password={password}")
        else:
            self.stdout.write(f"superuser {username!r} created")
