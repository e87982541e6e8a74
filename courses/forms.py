"""Forms shared by every feature, and the base of the forms participants see."""

from __future__ import annotations

from functools import lru_cache

from babel import support
from flask import current_app
from flask_babel import get_locale
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import widgets
from wtforms.i18n import messages_path
from wtforms.widgets.core import clean_key


@lru_cache(maxsize=8)
def _wtforms_messages(locale: str) -> support.Translations:
    # WTForms' own messages ("Not a valid choice") in `locale`: a file that never changes.
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class Form(FlaskForm):
    """FlaskForm with WTForms' messages read once per process and language, and its inputs
    written by `render_field` below.

    Flask-WTF parses WTForms' catalogue again in every request that builds a form (even a
    field's default label goes through it): a third of building the registration form."""

    class Meta:
        def get_translations(self, form):
            if not current_app.config.get("WTF_I18N_ENABLED", True):
                return super().get_translations(form)
            return _wtforms_messages(str(get_locale() or "es"))

        def render_field(self, field, render_kw):
            markup = fast_render(field, render_kw)
            if markup is None:
                return super().render_field(field, render_kw)
            return markup


class ActionForm(Form):
    """A bare button: only the CSRF token."""


# WTForms writes each attribute through Markup.format (string.Formatter, escaping twice): on
# the registration form that was a fifth of the page's CPU. The widgets the site uses are
# written here instead, with WTForms' exact rules, so the markup is byte for byte the same:
# attributes sorted by name, True as a bare attribute, False left out, values escaped, the
# field's validation flags added. Any other widget (or a subclass) still goes through WTForms.
_INPUTS = (
    widgets.TextInput,
    widgets.EmailInput,
    widgets.TelInput,
    widgets.HiddenInput,
    widgets.CheckboxInput,
    widgets.RadioInput,
)


#: markupsafe's escaping of a plain str (the same five characters, the same entities), as one
#: C call: markupsafe's own `escape` is five calls a value, and a form writes some eighty.
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "'": "&#39;", '"': "&#34;"})


def _escaped(value: object) -> str:
    """`value` as markupsafe's escape writes it: a plain str through `_ESCAPES`, anything else
    (Markup, numbers) through markupsafe itself."""
    if type(value) is str:
        return value.translate(_ESCAPES)
    return str(escape(value))


def _attribute_value(value: object) -> str:
    """An attribute's value as WTForms writes it: escaped, and a double quote that escaping
    left (only Markup keeps one) written &quot;."""
    if type(value) is str:
        return value.translate(_ESCAPES)  # no double quote is left
    if type(value) is int:  # maxlength=120: digits need no escaping
        return str(value)
    return str(escape(value)).replace('"', "&quot;")


@lru_cache(maxsize=256)
def _name(key: str) -> str:
    # An attribute's name, cleaned (class_ → class, aria_x → aria-x) and escaped: the names are
    # the templates' and widgets' own few, never what a person typed, so each is kept.
    return str(escape(clean_key(key)))


def _attributes(attrs: dict) -> str:
    """WTForms' html_params, without Markup.format."""
    parts = []
    for key in sorted(attrs):
        value = attrs[key]
        if value is False:
            continue
        if value is True:
            parts.append(_name(key))
        else:
            parts.append(f'{_name(key)}="{_attribute_value(value)}"')
    return " ".join(parts)


def _with_flags(field, widget, kwargs: dict) -> None:
    # As WTForms' widgets: each validation flag the field carries, unless given.
    flags = getattr(field, "flags", None)
    for key in vars(flags) if flags is not None else ():
        if key in widget.validation_attrs and key not in kwargs:
            value = getattr(flags, key)
            kwargs[key] = value() if callable(value) else value


#: WTForms' clean_key, kept per name (attribute names only, as `_name`).
_clean_key = lru_cache(maxsize=256)(clean_key)


def fast_render(field, render_kw: dict) -> Markup | None:
    """`field` rendered as WTForms would with `render_kw`, or None for widgets not handled."""
    widget = field.widget
    kind = type(widget)
    if getattr(field, "_datalist", None) is not None:
        return None
    kwargs = {_clean_key(k): v for k, v in render_kw.items()}
    own = getattr(field, "render_kw", None)
    if own is not None:
        # As WTForms' DefaultMeta.render_field: the field's own attributes, then the template's.
        kwargs = dict({_clean_key(k): v for k, v in own.items()}, **kwargs)
    if kind is widgets.Select and not widget.multiple and not field.has_groups():
        kwargs.setdefault("id", field.id)
        _with_flags(field, widget, kwargs)
        kwargs["name"] = field.name
        html = [f"<select {_attributes(kwargs)}>"]
        for choice in field._iter_choices_normalized():
            value = str(choice.value) if isinstance(choice.value, bool) else choice.value
            label = _escaped(choice.label or choice.value)
            if choice.render_kw:
                options = {"value": value, **choice.render_kw}
                if choice.selected:
                    options["selected"] = True
                html.append(f"<option {_attributes(options)}>{label}</option>")
                continue
            # Only `value` and perhaps `selected`, which sorts before it.
            selected = "selected " if choice.selected else ""
            html.append(f'<option {selected}value="{_attribute_value(value)}">{label}</option>')
        html.append("</select>")
        return Markup("".join(html))
    if kind not in _INPUTS:
        return None
    if kind is widgets.CheckboxInput and getattr(field, "checked", field.data):
        kwargs.setdefault("checked", True)
    elif kind is widgets.RadioInput and field.checked:
        kwargs.setdefault("checked", True)
    kwargs.setdefault("id", field.id)
    kwargs.setdefault("type", widget.input_type)
    if "value" not in kwargs:
        kwargs["value"] = field._value()
    _with_flags(field, widget, kwargs)
    kwargs["name"] = field.name
    return Markup(f"<input {_attributes(kwargs)}>")
