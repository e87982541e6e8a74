"""Forms shared by every feature, and the base of the forms participants see."""

from __future__ import annotations

from functools import lru_cache

from babel import support
from flask import current_app
from flask_babel import get_locale
from flask_wtf import FlaskForm
from wtforms.i18n import messages_path


@lru_cache(maxsize=8)
def _wtforms_messages(locale: str) -> support.Translations:
    # WTForms' own messages ("Not a valid choice") in `locale`: a file that never changes.
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class Form(FlaskForm):
    """FlaskForm with WTForms' messages read once per process and language.

    Flask-WTF parses WTForms' catalogue again in every request that builds a form (even a
    field's default label goes through it): a third of building the registration form."""

    class Meta:
        def get_translations(self, form):
            if not current_app.config.get("WTF_I18N_ENABLED", True):
                return super().get_translations(form)
            return _wtforms_messages(str(get_locale() or "es"))


class ActionForm(Form):
    """A bare button: only the CSRF token."""
