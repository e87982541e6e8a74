"""Forms of the participant's pages: completion buttons, quizzes, name correction, lost link."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Email, InputRequired, Length

from courses.i18n import localized


class NameForm(FlaskForm):
    name = StringField(
        _l("Tu nombre como debe aparecer en el certificado"),
        validators=[
            InputRequired(_l("Escribe tu nombre.")),
            Length(max=200, message=_l("El nombre es demasiado largo.")),
        ],
        render_kw={"autocomplete": "name"},
    )


class LostLinkForm(FlaskForm):
    email = EmailField(
        _l("Tu correo electrónico"),
        validators=[
            InputRequired(_l("Escribe tu correo electrónico.")),
            Length(max=254, message=_l("El correo es demasiado largo.")),
            Email(
                message=_l("Revisa el correo: debe ser como nombre@ejemplo.com."),
                check_deliverability=False,
            ),
        ],
        render_kw={"autocomplete": "email", "inputmode": "email"},
    )


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
