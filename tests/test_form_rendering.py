"""courses.forms writes the participant forms' inputs itself (for speed): byte for byte what
WTForms' own widgets write, for every field of those forms, with awkward values and the
attributes the templates pass (so a WTForms upgrade that changes its markup shows here)."""

from __future__ import annotations

import pytest
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from wtforms.fields.choices import SelectChoice
from wtforms.meta import DefaultMeta

from courses.forms import ActionForm, fast_render
from courses.participants.forms import LostLinkForm, NameForm
from courses.registration.forms import NoticeForm, registration_form

QUESTIONS = [
    {
        "key": "gender",
        "label": {"es": "Género"},
        "kind": "choice",
        "choices": [{"es": "Mujer"}, {"es": 'Otro "x" <b>&</b>'}],
        "required": True,
    },
    {"key": "boat", "label": {"es": "Embarcación"}, "kind": "text", "required": False},
]
#: What a visitor might type, with everything HTML must escape.
TYPED = {
    "name": 'María "Mery" <O\'Higgins> & Cía',
    "email": "maria@example.org",
    "phone": "+56 9 6123 4567",
    "country": "CL",
    "organization": "Sindicato <b>Tomé</b>",
    "consent": "y",
    "q_gender": "1",
    "q_boat": 'La "Niña" & <Pinta>',
}
#: Attributes the templates pass to fields (see templates/_forms.html).
EXTRA = [
    {},
    {"aria-describedby": "x-hint x-error", "aria-invalid": "true"},
    {"maxlength": 200, "autocomplete": "off", "required": False, "data_x": 'a"b'},
    {"placeholder": Markup('<i>"ya escrito"</i>'), "aria_label": "O'Higgins & <Cía>"},
]


def _forms():
    data = MultiDict(TYPED)
    registration = registration_form(QUESTIONS, "es")
    registration.offer_countries(["CL", "CO", "MX", "PE"], "es")
    filled = registration_form(QUESTIONS, "es")
    filled.offer_countries(["CL", "CO", "MX", "PE"], "es")
    filled.process(data)
    # Choices with everything HTML must escape, one with attributes of its own, one chosen.
    awkward = registration_form(QUESTIONS, "es")
    awkward.country.choices = [
        ("", 'Elige "tu" <país> & más'),
        ("X\"<&>'", "Tierra del Fuego"),
        SelectChoice("CL", Markup('Chile <b>"sí"</b>'), render_kw={"data_code": 'c"l'}),
        ("PE", "Perú"),
    ]
    awkward.country.data = "X\"<&>'"
    return [
        registration,
        filled,
        awkward,
        NameForm(formdata=MultiDict({"name": TYPED["name"]})),
        LostLinkForm(),
        NoticeForm(),
        ActionForm(),
    ]


def _fields(form):
    for field in form:
        yield field
        if field.type == "RadioField":
            yield from field  # each radio button is rendered on its own in the template


@pytest.mark.parametrize("extra", EXTRA, ids=["plain", "aria", "attributes", "markup"])
def test_every_participant_field_is_written_as_wtforms_writes_it(app, extra):
    checked = 0
    with app.test_request_context("/courses/x/y/register", method="POST", data=TYPED):
        for form in _forms():
            for field in _fields(form):
                ours = fast_render(field, dict(extra))
                if ours is None:
                    continue  # a widget we leave to WTForms
                # WTForms' own path: the field's render_kw merged in, then its widget.
                assert str(ours) == str(DefaultMeta().render_field(field, dict(extra))), field.name
                assert str(field(**extra)) == str(ours)  # and the form really uses it
                checked += 1
    # Text, e-mail, phone, select, checkbox, radio and hidden (CSRF) inputs were all compared.
    assert checked >= 12
