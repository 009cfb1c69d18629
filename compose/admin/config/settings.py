"""Settings of the catalogue's admin panel, all taken from the environment.

Required: DJANGO_SECRET_KEY, APP_DB_PASSWORD.  Each secret (those two and
CATALOG_OWNER_PASSWORD) may instead be the first line of the file named by
NAME_FILE (compose's secrets: /run/secrets/...); one starting with
"change-me" (compose/.env.example's placeholders) is refused.
Optional (defaults in brackets):
  DJANGO_DEBUG [0]                     1/true/yes turns debug on
  DJANGO_ALLOWED_HOSTS [localhost,127.0.0.1]   comma-separated
  DJANGO_CSRF_TRUSTED_ORIGINS []       comma-separated, e.g. https://admin.example.org
  DJANGO_STATIC_ROOT [BASE_DIR/static] where collectstatic puts the files nginx serves
  DJANGO_LOG_LEVEL [INFO]
  DB_HOST [127.0.0.1], DB_PORT [5432], DB_NAME [movies]
  DB_USER [app]                        the role the panel runs as (DML only)
  DB_OWNER_USER [catalog_owner], CATALOG_OWNER_PASSWORD
      when the password is set, a second connection "owner" exists for
      `manage.py migrate --database owner`; the running panel never has it.

Django's own tables live in schema `admin`, the catalogue in schema `content`
(search_path "admin, content"): the catalogue's tables are made by
etc/postgres, never by Django (its models are unmanaged).
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name, default=None, required=False):
    """Returns an environment variable; raises when a required one is missing or empty."""
    value = os.environ.get(name, "")
    if value == "":
        if required:
            raise ImproperlyConfigured(f"environment variable {name} must be set")
        return default
    return value


PLACEHOLDER_PREFIX = "change-me"


def secret(name, required=False):
    """Returns a secret: the first line of the file NAME_FILE names, else the
    environment variable NAME; raises when a required one is missing, and
    when it is a placeholder ("change-me...") never replaced by a real one."""
    path = os.environ.get(f"{name}_FILE", "")
    if path:
        try:
            with open(path, encoding="utf-8") as f:
                value = f.readline().rstrip("\r\n")
        except OSError as e:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {path}: {e.strerror}") from None
        where = f"{name}_FILE ({path})"
    else:
        value = os.environ.get(name, "")
        where = name
    if value.startswith(PLACEHOLDER_PREFIX):
        raise ImproperlyConfigured(f"{where}: placeholder secret, set a real one")
    if value == "" and required:
        raise ImproperlyConfigured(f"environment variable {name} must be set (or {name}_FILE)")
    return value or None


def env_bool(name, default=False):
    """Reads a yes/no environment variable (1, true, yes, on are yes)."""
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    """Reads a comma-separated environment variable into a list of non-empty items."""
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


SECRET_KEY = secret("DJANGO_SECRET_KEY", required=True)
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "movies.apps.MoviesConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

# The panel connects as `app`; Django's tables are found in schema admin, the
# catalogue's in schema content.
_DB_COMMON = {
    "ENGINE": "django.db.backends.postgresql",
    "HOST": env("DB_HOST", "127.0.0.1"),
    "PORT": env("DB_PORT", "5432"),
    "NAME": env("DB_NAME", "movies"),
    "CONN_MAX_AGE": int(env("DB_CONN_MAX_AGE", "60")),
    "CONN_HEALTH_CHECKS": True,
    "OPTIONS": {
        "options": "-c search_path=admin,content",
        "connect_timeout": 10,
        "application_name": "admin-panel",
    },
}
DATABASES = {
    "default": {
        **_DB_COMMON,
        "USER": env("DB_USER", "app"),
        "PASSWORD": secret("APP_DB_PASSWORD", required=True),
    },
}
# The schema owner's connection, only for migrations (see the module's doc).
_OWNER_PASSWORD = secret("CATALOG_OWNER_PASSWORD")
if _OWNER_PASSWORD:
    DATABASES["owner"] = {
        **_DB_COMMON,
        "CONN_MAX_AGE": 0,
        "USER": env("DB_OWNER_USER", "catalog_owner"),
        "PASSWORD": _OWNER_PASSWORD,
        "OPTIONS": {**_DB_COMMON["OPTIONS"], "application_name": "admin-migrations"},
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Russian by default; English for browsers that ask for it.
LANGUAGE_CODE = "ru"
LANGUAGES = [("ru", _("Russian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = env("DJANGO_TIME_ZONE", "UTC")
USE_TZ = True

# Static files are collected into STATIC_ROOT and served by nginx, never by
# gunicorn.
STATIC_URL = "/static/"
STATIC_ROOT = env("DJANGO_STATIC_ROOT", str(BASE_DIR / "static"))

# Behind nginx: it sets X-Forwarded-Proto, so Django knows when the client
# used HTTPS.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", "INFO")},
}
