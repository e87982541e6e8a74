"""The visitor's country picker on the course page (a GET form, so no CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField

from courses.forms import Form


class CountryTimeForm(Form):
    """Pick a country to read the deadline in its local time."""

    class Meta:
        csrf = False

    country = SelectField(_l("Tu país"), choices=[], validate_choice=True)

    def __init__(self, countries: list[tuple[str, str]], formdata) -> None:
        super().__init__(formdata=formdata)
        self.country.choices = [("", _l("Elige un país"))] + countries

    def chosen(self) -> str | None:
        """The chosen country code, or None when nothing (valid) was chosen."""
        if not self.country.data or not self.validate():
            return None
        return self.country.data
