"""The visitor's country picker on the course page (a GET form, so no CSRF token)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from courses.i18n import gettext as _


@dataclass
class _Label:
    text: str


@dataclass
class CountryChoice:
    """The one `<select>` of the picker, with what a WTForms SelectField would hold."""

    choices: list[tuple[str, str]]
    data: str | None = None
    # Translated when the picker is built, in the request (as is the "Elige un país" choice):
    # a lazy string went through Flask-Babel's whole look-up again each time the page read it.
    label: _Label = field(default_factory=lambda: _Label(_("Tu país")))


class CountryTimeForm:
    """Pick a country to read the deadline in its local time.

    Plain Python rather than WTForms: the page only reads one query parameter and checks it
    is one of the offered codes, and building a WTForms form cost a tenth of the page."""

    def __init__(self, countries: list[tuple[str, str]], formdata: Mapping[str, str]) -> None:
        self.country = CountryChoice([("", _("Elige un país")), *countries])
        self.country.data = formdata.get("country")

    def chosen(self) -> str | None:
        """The chosen country code, or None when nothing (valid) was chosen."""
        data = self.country.data
        if not data or data not in {code for code, _name in self.country.choices}:
            return None
        return data
