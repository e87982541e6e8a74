"""Language choice and the formatting of dates, times and countries for people.

Spanish is the default. A visitor's explicit choice (the language switch) is remembered in a
cookie; otherwise the browser's Accept-Language decides.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, get_timezone_name
from flask import Flask, current_app, g, has_request_context, request
from flask.globals import _cv_app
from flask_babel import get_locale as babel_get_locale
from flask_babel import get_translations
from jinja2 import pass_eval_context
from markupsafe import Markup

LANGUAGE_COOKIE = "lang"

#: A representative time zone for each country we serve, used to show deadlines in local time.
COUNTRY_TIMEZONES: dict[str, str] = {
    "CL": "America/Santiago",
    "CO": "America/Bogota",
    "MX": "America/Mexico_City",
    "PE": "America/Lima",
    "CR": "America/Costa_Rica",
}


def select_locale() -> Locale:
    """Locale selector for Flask-Babel: explicit override, cookie, then Accept-Language."""
    return _locale(_selected_code())


def _selected_code() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    forced = g.get("force_locale")
    if forced in languages:
        return forced
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in languages:
        return chosen
    return (
        request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
    )


@lru_cache(maxsize=16)
def _locale(code: str) -> Locale:
    # Flask-Babel parses what the selector returns on every request unless it is a Locale
    # already; Locale objects are immutable, so one per language serves every request.
    return Locale.parse(code)


def _catalogue():
    """The translations of the locale in force, looked up once per request and locale.

    Flask-Babel's own look-up walks its context three times per string; a page has dozens of
    strings. A forced locale (an e-mail in the recipient's language) is another Locale object,
    so it gets its own catalogue."""
    # The application context straight from its context variable, as Flask's own
    # has_app_context reads it: the `g` proxy cost three calls more, for each of a page's strings.
    context = _cv_app.get(None)
    if context is None:
        return get_translations()  # Flask-Babel's untranslated fallback
    here = context.g.__dict__
    kept = here.get("_courses_catalogue")
    # Flask-Babel keeps the locale it chose (or one forced) on its namespace in `g`: when it
    # is the one the kept catalogue was looked up for, that catalogue is still right.
    babel = here.get("_flask_babel")
    if kept is not None and kept[0] is getattr(babel, "babel_locale", None):
        return kept[1]
    locale = babel_get_locale()
    if kept is None or kept[0] is not locale:
        kept = (locale, get_translations())
        g._courses_catalogue = kept
    return kept[1]


def gettext(string: str, **variables) -> str:
    """Flask-Babel's `gettext`, through the request's kept catalogue (`_catalogue`): the same
    translation and %-formatting, without Flask-Babel's three walks of its context per string.
    For code run on every visit (the personal page says four sentences from Python)."""
    text = _catalogue().ugettext(string)
    return text % variables if variables else text


def install_template_gettext(app: Flask) -> None:
    """Templates' `_()`/`ngettext()` through `_catalogue` (after Flask-Babel's init_app).

    Jinja's own newstyle callables reach the function through three `Context.call`s per
    string (10 µs; a page has twenty strings): these do the same work in one. As Jinja's, a
    translation is Markup in an escaped template, and always %-formatted with its variables
    (skipped only when there is nothing it could change)."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _catalogue().ugettext(s),
        ngettext=lambda s, p, n: _catalogue().ungettext(s, p, n),
        pgettext=lambda c, s: _catalogue().upgettext(c, s),
        npgettext=lambda c, s, p, n: _catalogue().unpgettext(c, s, p, n),
        newstyle=True,
    )
    app.jinja_env.globals.update(_=_template_gettext, gettext=_template_gettext)
    app.jinja_env.globals["ngettext"] = _template_ngettext


@pass_eval_context
def _template_gettext(eval_ctx, string: str, **variables) -> str:
    text = _translated(_catalogue(), string, eval_ctx.autoescape)
    return text % variables if variables or "%" in text else text


# A page's strings are the templates' own constants, the same on every visit: each is looked
# up (in Spanish through the catalogue's fallbacks) and wrapped in Markup once per process and
# catalogue instead of on every page (a fifth of the course page's calls went to its twenty
# strings). Keyed by the catalogue object, which Flask-Babel keeps for the process's life; only
# what a template passes to `_()`, never a person's data (that goes in `variables`, formatted
# per call above).
@lru_cache(maxsize=1024)
def _translated(catalogue, string: str, markup: bool) -> str:
    text = catalogue.ugettext(string)
    return Markup(text) if markup else text


@pass_eval_context
def _template_ngettext(eval_ctx, singular: str, plural: str, num: int, **variables) -> str:
    variables.setdefault("num", num)
    text = _catalogue().ungettext(singular, plural, num)
    if eval_ctx.autoescape:
        text = Markup(text)
    return text % variables


def browser_country() -> str | None:
    """The country of the browser's language region (es-PE → "PE"), if it is one we serve.

    A guess, so a visitor in Lima reads deadlines in Lima's time without choosing anything;
    an explicit choice (?country=) always wins over it.
    """
    if not has_request_context():
        return None
    for value, _quality in request.accept_languages:
        parts = value.replace("_", "-").split("-")
        if len(parts) >= 2 and parts[1].upper() in COUNTRY_TIMEZONES:
            return parts[1].upper()
    return None


def current_language() -> str:
    """The two-letter language of the current request ("es" or "en")."""
    # The locale Flask-Babel chose (or one forced) is kept on its namespace in `g`; reading it
    # there skips the six context look-ups of its get_locale (pages ask several times).
    context = _cv_app.get(None)  # as in `_catalogue`
    babel = context.g.__dict__.get("_flask_babel") if context is not None else None
    locale = getattr(babel, "babel_locale", None) or babel_get_locale()
    return locale.language if locale is not None else "es"


def localized(value: str | dict | None, language: str | None = None) -> str:
    """Pick the text for `language` from a course-file text ("…" or {es = "…", en = "…"})."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    language = language or current_language()
    return value.get(language) or value.get("es") or next(iter(value.values()), "")


# The formatters below are pure functions of their arguments (Babel's data does not change
# while the process runs), called for the same few deadlines and countries on every page: each
# keeps its recent answers, keyed by the language too. The `language or current_language()`
# default is resolved before the cache.


def country_name(code: str, language: str | None = None) -> str:
    """The country's name in the visitor's language ("PE" → "Perú")."""
    return _country_name(code.upper(), language or current_language())


@lru_cache(maxsize=512)
def _country_name(code: str, language: str) -> str:
    return Locale.parse(language).territories.get(code, code)


def _display_instant(instant: datetime, tz: ZoneInfo) -> datetime:
    # A deadline is stored as the first instant when registration is closed; people expect to
    # read the last minute it is still open ("21 de julio, 23:59"), not "22 de julio, 00:00".
    local = instant.astimezone(tz)
    if local.hour == 0 and local.minute == 0 and local.second == 0:
        return local - timedelta(minutes=1)
    return local


def format_deadline(instant: datetime, timezone: str, language: str | None = None) -> str:
    """A deadline in words: "viernes, 21 de julio de 2023, 23:59"."""
    return _format_deadline(instant, timezone, language or current_language())


@lru_cache(maxsize=1024)
def _format_deadline(instant: datetime, timezone: str, language: str) -> str:
    tz = ZoneInfo(timezone)
    local = _display_instant(instant, tz)
    day = format_date(local.date(), "full", locale=language)
    time = format_datetime(local, "HH:mm", tzinfo=tz, locale=language)
    return f"{day}, {time}"


def format_day(instant: datetime, timezone: str, language: str | None = None) -> str:
    """An instant's local day in words: "sábado, 1 de junio de 2023"."""
    return _format_day(instant, timezone, language or current_language())


@lru_cache(maxsize=1024)
def _format_day(instant: datetime, timezone: str, language: str) -> str:
    local = instant.astimezone(ZoneInfo(timezone))
    return format_date(local.date(), "full", locale=language)


def format_moment(instant: datetime, timezone: str, language: str | None = None) -> str:
    """A date and time for lists and e-mails: "21 jul 2023, 14:05"."""
    language = language or current_language()
    return format_datetime(instant, "d MMM y, HH:mm", tzinfo=ZoneInfo(timezone), locale=language)


def timezone_label(timezone: str, language: str | None = None, country: str | None = None) -> str:
    """A time zone people recognise: "hora de Chile" / "Chile time"."""
    return _timezone_label(timezone, language or current_language(), country)


@lru_cache(maxsize=256)
def _timezone_label(timezone: str, language: str, country: str | None) -> str:
    if country is None:
        country = next((c for c, tz in COUNTRY_TIMEZONES.items() if tz == timezone), None)
    if country:
        name = country_name(country, language)
        return f"hora de {name}" if language == "es" else f"{name} time"
    return get_timezone_name(ZoneInfo(timezone), locale=language)
