"""Forms of the participant's pages: completion buttons, quizzes, name correction, lost link."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, RadioField, SelectField, StringField, TelField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Email, InputRequired, Length, Optional

from courses.forms import Form
from courses.i18n import localized
from courses.registration.rules import clean_phone


class NameForm(Form):
    name = StringField(
        _l("Tu nombre como debe aparecer en el certificado"),
        validators=[
            InputRequired(_l("Escribe tu nombre.")),
            Length(max=200, message=_l("El nombre es demasiado largo.")),
        ],
        render_kw={"autocomplete": "name"},
    )


class LostLinkForm(Form):
    """The e-mail address, or the phone number with its country (any national format)."""

    email = EmailField(
        _l("Tu correo electrónico"),
        validators=[
            Optional(),
            Length(max=254, message=_l("El correo es demasiado largo.")),
            Email(
                message=_l("Revisa el correo: debe ser como nombre@ejemplo.com."),
                check_deliverability=False,
            ),
        ],
        render_kw={"autocomplete": "email", "inputmode": "email"},
    )
    phone = TelField(
        _l("O tu número de teléfono"),
        validators=[Optional(), Length(max=40, message=_l("El número es demasiado largo."))],
        render_kw={"autocomplete": "tel"},
    )
    country = SelectField(_l("País del teléfono"), validate_choice=False)

    def offer_countries(self, choices: list[tuple[str, str]]) -> None:
        self.country.choices = [("", _l("Elige el país"))] + choices

    def validate(self, extra_validators=None) -> bool:
        """One of the two ways is needed; a phone must be a real number of its country."""
        if not super().validate(extra_validators):
            return False
        if self.email.data:
            return True
        if not (self.phone.data or "").strip():
            self.email.errors.append(_l("Escribe tu correo electrónico o tu número de teléfono."))
            return False
        if self.e164() is None:
            self.phone.errors.append(
                _l("Revisa el número y elige su país; también puedes escribirlo con +código.")
            )
            return False
        return True

    def e164(self) -> str | None:
        """The phone number in E.164 (how it is stored), or None when it is not a number."""
        return phone_e164(self.phone.data or "", self.country.data or None)


def phone_e164(raw: str, country: str | None) -> str | None:
    """A number typed in any national format of `country` (or with +CC) in E.164, or None."""
    try:
        # The registration's own rule, so a number found here is written as it was stored.
        return clean_phone(raw, (country or "").upper() or None, "es")
    except ValueError:
        return None


def quiz_form(questions: list[dict], language: str) -> type[FlaskForm]:
    """A form class with one required radio group per question (fields q1, q2, …)."""

    class QuizForm(FlaskForm):
        pass

    for number, question in enumerate(questions, 1):
        field = RadioField(
            f"{number}. {localized(question.get('text'), language)}",
            choices=[
                SelectChoice(str(index), localized(choice, language))
                for index, choice in enumerate(question.get("choices", []))
            ],
            validators=[InputRequired(_l("Elige una respuesta."))],
        )
        setattr(QuizForm, f"q{number}", field)
    return QuizForm


def quiz_answers(form: FlaskForm, count: int) -> list[int | None]:
    """The chosen choice index for each of `count` questions."""
    answers: list[int | None] = []
    for number in range(1, count + 1):
        value = getattr(form, f"q{number}").data
        answers.append(int(value) if value not in (None, "") else None)
    return answers
