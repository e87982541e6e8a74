"""The registration form. Field names are part of the public contract: never rename them.

The form only carries what was typed (and the CSRF token); the rules live in services.py,
whose errors the view puts next to each field.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectField, StringField, TelField

from courses.i18n import country_name


class RegistrationForm(FlaskForm):
    """name, email, phone, country, organization, consent (+ csrf_token)."""

    name = StringField()
    email = EmailField()
    phone = TelField()
    # Choices are the course's countries; services.py refuses anything else.
    country = SelectField(validate_choice=False)
    organization = StringField()
    consent = BooleanField()

    def offer_countries(self, codes: list[str], language: str) -> None:
        """Offer `codes` with their names in `language`, in the course file's order."""
        self.country.choices = [("", _("Elige tu país"))] + [
            (code, country_name(code, language)) for code in codes
        ]
