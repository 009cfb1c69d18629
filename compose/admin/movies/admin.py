"""The admin pages of the catalogue: film works with their genres and persons,
persons and genres."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import FilmWork, Genre, GenreFilmWork, Person, PersonFilmWork


class GenreFilmWorkInline(admin.TabularInline):
    """Edits a film work's genres on its page."""

    model = GenreFilmWork
    autocomplete_fields = ["genre"]
    extra = 0


class PersonFilmWorkInline(admin.TabularInline):
    """Edits a film work's persons, each with a role, on its page."""

    model = PersonFilmWork
    autocomplete_fields = ["person"]
    fields = ["person", "role"]
    extra = 0


@admin.register(FilmWork)
class FilmWorkAdmin(admin.ModelAdmin):
    """Film works: listed by title, type, creation date and rating."""

    list_display = ["title", "type", "creation_date", "rating"]
    list_filter = ["type", "genres"]
    search_fields = ["title", "description"]
    fields = ["title", "type", "description", "creation_date", "rating"]
    inlines = [GenreFilmWorkInline, PersonFilmWorkInline]
    list_per_page = 50
    show_full_result_count = False


@admin.register(Genre)
class GenreAdmin(admin.ModelAdmin):
    """Genres, searched by name."""

    list_display = ["name", "description"]
    search_fields = ["name"]


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    """Persons, searched by full name."""

    list_display = ["full_name"]
    search_fields = ["full_name"]
    list_per_page = 50
    show_full_result_count = False


admin.site.site_header = _("Movie catalogue")
admin.site.site_title = _("Movie catalogue")
admin.site.index_title = _("Administration")
# No public site: the "view site" link would only lead back here.
admin.site.site_url = None
