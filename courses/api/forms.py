"""Forms of the API pages (tokens, webhooks). Rules live in `tokens` and `webhooks`."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, PasswordField, SelectMultipleField, StringField, URLField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from courses.api.tokens import NAME_MAX
from courses.api.webhooks import EVENTS, SECRET_MIN


class TokenForm(FlaskForm):
    name = StringField(
        _l("Nombre (para qué sistema es)"),
        validators=[DataRequired(_l("Ponle un nombre al token.")), Length(max=NAME_MAX)],
    )
    expires = DateField(
        _l("Vence (último día, opcional)"),
        validators=[Optional()],
    )


class WebhookForm(FlaskForm):
    url = URLField(
        _l("Dirección (URL) que recibe los avisos"),
        validators=[DataRequired(_l("Escribe la dirección.")), Length(max=500)],
    )
    secret = PasswordField(
        _l("Secreto compartido"),
        validators=[
            DataRequired(_l("Escribe el secreto.")),
            Length(min=SECRET_MIN, max=200, message=_l("Usa entre 16 y 200 caracteres.")),
        ],
        render_kw={"autocomplete": "off"},
    )
    events = SelectMultipleField(
        _l("Eventos"),
        choices=[SelectChoice(event) for event in EVENTS],
        validators=[DataRequired(_l("Elige al menos un evento."))],
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
    )
