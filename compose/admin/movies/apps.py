"""The catalogue app: film works, genres and persons of schema content."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MoviesConfig(AppConfig):
    """Registers the catalogue under a translated name."""

    name = "movies"
    verbose_name = _("Catalogue")
    default_auto_field = "django.db.models.BigAutoField"
