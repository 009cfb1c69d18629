"""Models over schema content.

Every model is unmanaged: the tables, their triggers and privileges are made
by etc/postgres (the single source of truth), never by Django's migrations.
The connection's search_path ("admin, content") finds them.  PostgreSQL
itself stamps `modified` on every insert and update (a trigger), which is
what the ETL polls.
"""

import uuid

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class TimeStampedMixin(models.Model):
    """Adds created/modified; the database's trigger has the last word on modified."""

    created = models.DateTimeField(_("created"), auto_now_add=True)
    modified = models.DateTimeField(_("modified"), auto_now=True)

    class Meta:
        abstract = True


class UUIDMixin(models.Model):
    """A uuid primary key made by Django (the tables have no default for it)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)

    class Meta:
        abstract = True


class Genre(UUIDMixin, TimeStampedMixin):
    """A genre (content.genre)."""

    name = models.TextField(_("name"))
    description = models.TextField(_("description"), blank=True, null=True)

    class Meta:
        managed = False
        db_table = "genre"
        verbose_name = _("genre")
        verbose_name_plural = _("genres")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Person(UUIDMixin, TimeStampedMixin):
    """A person who took part in film works (content.person)."""

    full_name = models.TextField(_("full name"))

    class Meta:
        managed = False
        db_table = "person"
        verbose_name = _("person")
        verbose_name_plural = _("persons")
        ordering = ["full_name"]

    def __str__(self):
        return self.full_name


class FilmWork(UUIDMixin, TimeStampedMixin):
    """A film or TV show (content.film_work)."""

    class Type(models.TextChoices):
        """The kinds of film work."""

        MOVIE = "movie", _("movie")
        TV_SHOW = "tv_show", _("TV show")

    title = models.TextField(_("title"))
    description = models.TextField(_("description"), blank=True, null=True)
    creation_date = models.DateField(_("creation date"), blank=True, null=True)
    rating = models.FloatField(
        _("rating"),
        blank=True,
        null=True,
        validators=[MinValueValidator(0), MaxValueValidator(10)],
    )
    type = models.TextField(_("type"), choices=Type.choices, default=Type.MOVIE)
    genres = models.ManyToManyField(Genre, through="GenreFilmWork", verbose_name=_("genres"))
    persons = models.ManyToManyField(Person, through="PersonFilmWork", verbose_name=_("persons"))

    class Meta:
        managed = False
        db_table = "film_work"
        verbose_name = _("film work")
        verbose_name_plural = _("film works")
        ordering = ["title"]

    def __str__(self):
        return self.title


class GenreFilmWork(UUIDMixin):
    """A film work's genre (content.genre_film_work)."""

    film_work = models.ForeignKey(FilmWork, on_delete=models.CASCADE, verbose_name=_("film work"))
    genre = models.ForeignKey(Genre, on_delete=models.CASCADE, verbose_name=_("genre"))
    created = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        managed = False
        db_table = "genre_film_work"
        verbose_name = _("genre of the film work")
        verbose_name_plural = _("genres of the film work")
        constraints = [
            models.UniqueConstraint(
                fields=["film_work", "genre"], name="genre_film_work_film_genre_key"
            ),
        ]

    def __str__(self):
        return str(self.genre)


class PersonFilmWork(UUIDMixin):
    """A person's role in a film work (content.person_film_work)."""

    class Role(models.TextChoices):
        """The roles the ETL indexes."""

        ACTOR = "actor", _("actor")
        DIRECTOR = "director", _("director")
        WRITER = "writer", _("writer")

    film_work = models.ForeignKey(FilmWork, on_delete=models.CASCADE, verbose_name=_("film work"))
    person = models.ForeignKey(Person, on_delete=models.CASCADE, verbose_name=_("person"))
    role = models.TextField(_("role"), choices=Role.choices)
    created = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        managed = False
        db_table = "person_film_work"
        verbose_name = _("person of the film work")
        verbose_name_plural = _("persons of the film work")
        constraints = [
            models.UniqueConstraint(
                fields=["film_work", "person", "role"],
                name="person_film_work_film_person_role_key",
            ),
        ]

    def __str__(self):
        return f"{self.person} ({self.get_role_display()})"
