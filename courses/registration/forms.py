"""The registration form. Field names are part of the public contract: never rename them.

The form only carries what was typed (and the CSRF token); the rules live in rules.py, whose
errors the view puts next to each field. A course's extra questions become `q_<key>` fields.
"""

from __future__ import annotations

import json
from functools import lru_cache

from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TelField,
)
from wtforms.fields.choices import SelectChoice

from courses.forms import Form
from courses.i18n import country_name, localized
from courses.i18n import gettext as _


class RegistrationForm(Form):
    """name, email, phone, country, organization, consent (+ csrf_token), then q_<key>."""

    name = StringField()
    email = EmailField()
    phone = TelField()
    # Choices are the course's countries; rules.py refuses anything else.
    country = SelectField(validate_choice=False)
    organization = StringField()
    consent = BooleanField()
    #: The address a "¿Quisiste decir…?" answer questioned; sent again unchanged, it stands.
    email_as_typed = HiddenField()
    #: The suggested address, when the person taps it.
    suggested_email = HiddenField()

    questions: list[dict] = []

    def offer_countries(self, codes: list[str], language: str) -> None:
        """Offer `codes` with their names in `language`, in the course file's order."""
        self.country.choices = [("", _("Elige tu país"))] + [
            (code, country_name(code, language)) for code in codes
        ]

    def answers(self) -> dict[str, str]:
        """What was sent for each extra question, by key ("" when nothing)."""
        return {q["key"]: (self[f"q_{q['key']}"].data or "") for q in self.questions}


def registration_form(questions: list[dict], language: str) -> RegistrationForm:
    """The form with one `q_<key>` field per extra question of the course, in file order."""
    return _form_class(json.dumps(questions, sort_keys=True, ensure_ascii=False), language)()


# A form class is built from the questions' text, and WTForms does its heaviest work on a
# class's first form: each (questions, language) gets its class once. The key is the text
# itself, so a course file with other questions simply makes another class.
@lru_cache(maxsize=64)
def _form_class(questions_json: str, language: str) -> type[RegistrationForm]:
    questions = json.loads(questions_json)

    class CourseRegistrationForm(RegistrationForm):
        pass

    CourseRegistrationForm.questions = list(questions)
    for question in questions:
        label = localized(question["label"], language)
        if question["kind"] == "choice":
            # The value sent is the choice's number (from 1); rules.py stores its wording.
            choices = [
                SelectChoice(str(number), localized(choice, language))
                for number, choice in enumerate(question["choices"], start=1)
            ]
            field = RadioField(label, choices=choices, validate_choice=False)
        else:
            field = StringField(label)
        setattr(CourseRegistrationForm, f"q_{question['key']}", field)
    return CourseRegistrationForm


def labels() -> dict[str, str]:
    """The five fields' labels, also used by the error summary's links."""
    return {
        "name": _("Nombre y apellido"),
        "email": _("Correo electrónico"),
        "phone": _("Teléfono de contacto"),
        "country": _("País"),
        "organization": _("Organización"),
        "consent": _("Aviso de privacidad"),
    }


class NoticeForm(Form):
    """ "Avísame": an e-mail address, or a phone number with its country, and consent."""

    email = EmailField()
    phone = TelField()
    country = SelectField(validate_choice=False)
    consent = BooleanField()

    def offer_countries(self, codes: list[str], language: str) -> None:
        self.country.choices = [("", _("Elige tu país"))] + [
            (code, country_name(code, language)) for code in codes
        ]
