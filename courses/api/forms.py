"""Forms of the API pages (tokens, webhooks). Rules live in `tokens` and `webhooks`."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, StringField
from wtforms.validators import DataRequired, Length, Optional

from courses.api.tokens import NAME_MAX


class TokenForm(FlaskForm):
    name = StringField(
        _l("Nombre (para qué sistema es)"),
        validators=[DataRequired(_l("Ponle un nombre al token.")), Length(max=NAME_MAX)],
    )
    expires = DateField(
        _l("Vence (último día, opcional)"),
        validators=[Optional()],
    )
