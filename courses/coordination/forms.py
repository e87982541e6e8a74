"""Coordinator forms. Rules that need the database live in services; forms check shapes."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)

from courses.coordination.services import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH


class LoginForm(FlaskForm):
    email = EmailField(
        _l("Correo electrónico"),
        validators=[DataRequired(_l("Escribe tu correo.")), Length(max=254)],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        _l("Contraseña"),
        validators=[DataRequired(_l("Escribe tu contraseña.")), Length(max=MAX_PASSWORD_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )


class PasswordForm(FlaskForm):
    current = PasswordField(
        _l("Contraseña actual"),
        validators=[DataRequired(_l("Escribe tu contraseña actual."))],
        render_kw={"autocomplete": "current-password"},
    )
    new = PasswordField(
        _l("Contraseña nueva"),
        validators=[
            DataRequired(_l("Escribe la contraseña nueva.")),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=MAX_PASSWORD_LENGTH,
                message=_l("Usa entre 10 y 200 caracteres."),
            ),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Repite la contraseña nueva"),
        validators=[EqualTo("new", _l("Las dos contraseñas no coinciden."))],
        render_kw={"autocomplete": "new-password"},
    )


class CoordinatorForm(FlaskForm):
    """An admin creates an account for a colleague."""

    email = EmailField(
        _l("Correo electrónico"),
        validators=[DataRequired(_l("Escribe el correo.")), Length(max=254)],
        render_kw={"autocomplete": "off"},
    )
    role = SelectField(
        _l("Rol"),
        choices=[
            SelectChoice("country", _l("País (punto focal)")),
            SelectChoice("course", _l("Curso")),
            SelectChoice("admin", _l("Administración")),
        ],
    )
    courses = SelectMultipleField(
        _l("Cursos asignados (para el rol Curso; uno o varios)"), choices=[], validate_choice=False
    )
    country = StringField(
        _l("País (código de dos letras, para el rol País)"),
        validators=[Optional(), Length(min=2, max=2)],
    )
    password = PasswordField(
        _l("Contraseña inicial"),
        validators=[DataRequired(_l("Escribe una contraseña inicial."))],
        render_kw={"autocomplete": "new-password"},
    )


class EditionForm(FlaskForm):
    """Dates are local days in the course's time zone; the closing days are inclusive."""

    registration_opens = DateField(_l("Inscripciones abren el"), validators=[Optional()])
    registration_closes = DateField(
        _l("Último día de inscripción"),
        validators=[InputRequired(_l("Indica el último día de inscripción."))],
    )
    complete_by = DateField(_l("Último día para completar"), validators=[Optional()])
    capacity = IntegerField(
        _l("Cupos (0 = sin límite)"),
        validators=[
            InputRequired(_l("Indica los cupos (0 = sin límite).")),
            NumberRange(min=0, max=1_000_000, message=_l("Los cupos deben ser 0 o más.")),
        ],
    )


class ImportForm(FlaskForm):
    file = FileField(_l("Archivo CSV"), validators=[FileRequired(_l("Elige el archivo CSV."))])


class ApplyImportForm(FlaskForm):
    payload = HiddenField(validators=[DataRequired()])


class RevokeForm(FlaskForm):
    reason = TextAreaField(
        _l("Motivo"),
        validators=[
            DataRequired(_l("Escribe el motivo de la revocación.")),
            Length(max=500, message=_l("Usa como máximo 500 caracteres.")),
        ],
    )


class ContactForm(FlaskForm):
    """A coordinator corrects a person's details; registration's rules decide (services)."""

    name = StringField(_l("Nombre y apellido"), render_kw={"autocomplete": "off"})
    email = EmailField(_l("Correo electrónico"), render_kw={"autocomplete": "off"})
    phone = TelField(_l("Teléfono"), render_kw={"autocomplete": "off"})
    organization = StringField(_l("Organización"), render_kw={"autocomplete": "off"})
