"""What a registration must contain, field by field, with the words shown next to each field.

Every field is checked (not just the first wrong one), so a person on a slow connection fixes
everything in one more round trip.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from functools import lru_cache

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from courses.i18n import country_name
from courses.registration import typos

NAME_LENGTH = (2, 120)
ORGANIZATION_LENGTH = (2, 200)
EMAIL_MAX = 254
#: Longer than any phone number written with spaces, dashes, parentheses and a prefix.
PHONE_MAX = 40

#: Example mobiles where libphonenumber's own example is not what people here would type
#: (for Chile it is a Santiago landline; fishers use mobiles).
PHONE_EXAMPLES = {"CL": "+56961234567"}


@dataclass(frozen=True)
class Applicant:
    """What was typed in the form, as strings (consent as a bool)."""

    name: str
    email: str
    phone: str
    country: str
    organization: str
    consent: bool
    #: The address a previous answer questioned ("¿Quisiste decir…?"): sent again unchanged,
    #: it is taken as typed.
    email_as_typed: str = ""
    #: Answers to the course's extra questions, by key, as sent.
    answers: dict[str, str] = dataclass_field(default_factory=dict)


@dataclass(frozen=True)
class CleanApplicant:
    """An applicant that passed every rule, in the form it is stored."""

    name: str
    email: str
    email_key: str
    phone: str
    country: str
    organization: str
    answers: dict[str, str] = dataclass_field(default_factory=dict)


class InvalidRegistration(Exception):
    """One or more fields are wrong; `errors` maps field name to the message shown beside it."""

    def __init__(self, errors: dict[str, str], suggestion: str | None = None) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors
        #: The address we think was meant, when the e-mail's domain looks mistyped.
        self.suggestion = suggestion


def collapse(text: str) -> str:
    """Trim and collapse inner white space (any script's spaces) to single spaces."""
    return " ".join((text or "").split())


#: Bidirectional embeddings, overrides (U+202A–U+202E) and isolates (U+2066–U+2069): invisible,
#: they reorder what is shown after them ("‮ANA" reads "ANA" backwards on the /verify page).
BIDI_CONTROLS = frozenset(map(chr, [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]))
#: What `printable` removes: control characters (but tab and line breaks) and bidi controls.
_UNPRINTABLE = {
    **{code: None for code in range(0x20) if chr(code) not in "\t\n\r"},
    **{code: None for code in range(0x7F, 0xA0)},
    **{ord(char): None for char in BIDI_CONTROLS},
}


#: Finds any of them in one pass in C: most texts have none and are returned as they are.
_UNPRINTABLE_FOUND = re.compile("[" + "".join(re.escape(chr(code)) for code in _UNPRINTABLE) + "]")


def _has_control_characters(text: str) -> bool:
    return any(unicodedata.category(char) == "Cc" or char in BIDI_CONTROLS for char in text)


def clean_name(raw: str, *, longest: int = NAME_LENGTH[1]) -> str:
    """The one rule for a person's (or organiser's) name, wherever one is typed or loaded.

    Trimmed, inner spaces collapsed; accents, ñ, ' and - kept. Refused (ValueError with the
    words to show): empty, control characters, bidirectional controls, no letter at all, or
    outside 2..`longest` characters. Registration, name corrections (participant and
    coordinator), the course-file loader and certificates all call this.
    """
    name = collapse(raw)
    low = NAME_LENGTH[0]
    if not name:
        raise ValueError(_("Escribe tu nombre y apellido."))
    if _has_control_characters(name):
        raise ValueError(
            _("El nombre tiene caracteres invisibles o de control. Escríbelo de nuevo con letras.")
        )
    if not any(char.isalpha() for char in name):
        raise ValueError(_("Escribe tu nombre con letras."))
    if not low <= len(name) <= longest:
        raise ValueError(
            _("El nombre debe tener entre %(low)s y %(high)s caracteres.", low=low, high=longest)
        )
    return name


def printable(text: str) -> str:
    """`text` without control or bidirectional characters: how data stored before the name
    rule existed (or from elsewhere) is shown on pages, in e-mails, exports and certificates."""
    # Every value a template shows passes here (Jinja's finalize): look before translating.
    if isinstance(text, str) and _UNPRINTABLE_FOUND.search(text):
        return text.translate(_UNPRINTABLE)
    return text


def clean_email(raw: str) -> tuple[str, str]:
    """(normalised address, lower-case uniqueness key); syntax only, no DNS look-up."""
    text = (raw or "").strip()
    if not text:
        raise ValueError(_("Escribe tu correo electrónico."))
    try:
        if len(text) > EMAIL_MAX:
            raise EmailNotValidError("too long")
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        raise ValueError(
            _("Revisa tu correo electrónico; debe ser como nombre@ejemplo.com.")
        ) from None
    email = result.normalized
    if len(email) > EMAIL_MAX:
        raise ValueError(_("Revisa tu correo electrónico; debe ser como nombre@ejemplo.com."))
    return email, email.lower()


@lru_cache(maxsize=64)
def phone_example(country: str) -> str:
    """A mobile number of `country` written the way people there write it."""
    if country in PHONE_EXAMPLES:
        number = phonenumbers.parse(PHONE_EXAMPLES[country], None)
    else:
        number = phonenumbers.example_number_for_type(country, PhoneNumberType.MOBILE)
        number = number or phonenumbers.example_number(country)
    if number is None:
        return ""
    return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)


def phone_error(country: str | None, language: str) -> str:
    """The phone error, with an example for the chosen country when there is one."""
    example = phone_example(country) if country else ""
    if not example:
        return _("Revisa el número de teléfono; escríbelo con el código del país, como +56…")
    return _(
        "Revisa el número de teléfono. Ejemplo para %(country)s: %(example)s",
        country=country_name(country, language),
        example=example,
    )


def clean_phone(raw: str, country: str | None, language: str) -> str:
    """The number in E.164; national formats of `country` and a leading +CC both work."""
    text = (raw or "").strip()
    if not text:
        raise ValueError(_("Escribe un número de teléfono de contacto."))
    try:
        if len(text) > PHONE_MAX:
            raise NumberParseException(NumberParseException.TOO_LONG, "too long")
        number = phonenumbers.parse(text, country or None)
    except NumberParseException:
        raise ValueError(phone_error(country, language)) from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(phone_error(country, language))
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def clean_country(raw: str, countries: list[str]) -> str:
    """One of the course's countries (ISO 3166-1 alpha-2)."""
    code = (raw or "").strip().upper()
    if code not in countries:
        raise ValueError(_("Elige tu país en la lista."))
    return code


def clean_organization(raw: str) -> str:
    """The organisation, trimmed and collapsed, 2–200 characters."""
    organization = collapse(raw)
    low, high = ORGANIZATION_LENGTH
    if not organization:
        raise ValueError(
            _("Escribe tu organización (cooperativa, sindicato, empresa o «independiente»).")
        )
    if _has_control_characters(organization) or not low <= len(organization) <= high:
        raise ValueError(
            _(
                "La organización debe tener entre %(low)s y %(high)s caracteres.",
                low=low,
                high=high,
            )
        )
    return organization


#: Longest answer to a text question.
ANSWER_MAX = 200


def clean_answers(raw: dict[str, str], questions: list[dict]) -> tuple[dict, dict]:
    """(answers by key, errors by field `q_<key>`): a choice is stored in its Spanish words."""
    answers: dict[str, str] = {}
    errors: dict[str, str] = {}
    for question in questions:
        key, name = question["key"], f"q_{question['key']}"
        value = collapse(raw.get(key, ""))
        if question["kind"] == "choice":
            choices = question.get("choices") or []
            if value.isdigit() and 1 <= int(value) <= len(choices):
                chosen = choices[int(value) - 1]
                answers[key] = chosen.get("es") or next(iter(chosen.values()), "")
            elif value or question.get("required"):
                errors[name] = _("Elige una de las opciones.")
        elif value:
            if _has_control_characters(value) or len(value) > ANSWER_MAX:
                errors[name] = _("Escribe como máximo %(n)s caracteres.", n=ANSWER_MAX)
            else:
                answers[key] = value
        elif question.get("required"):
            errors[name] = _("Responde esta pregunta.")
    return answers, errors


def clean(
    applicant: Applicant, countries: list[str], language: str, questions: list[dict] = ()
) -> CleanApplicant:
    """Check every field; raise InvalidRegistration with all the problems found."""
    answers, errors = clean_answers(applicant.answers, list(questions))
    values: dict[str, object] = {}
    checks = {
        "name": lambda: clean_name(applicant.name),
        "email": lambda: clean_email(applicant.email),
        "country": lambda: clean_country(applicant.country, countries),
        "organization": lambda: clean_organization(applicant.organization),
    }
    for field, check in checks.items():
        try:
            values[field] = check()
        except ValueError as error:
            errors[field] = str(error)
    # Without a valid country the number must carry its +CC; the example follows the choice.
    country = values.get("country")
    try:
        values["phone"] = clean_phone(applicant.phone, country, language)
    except ValueError as error:
        if country or not (applicant.phone or "").strip():
            errors["phone"] = str(error)
        else:
            errors["phone"] = phone_error(countries[0] if countries else None, language)
    if not applicant.consent:
        errors["consent"] = _("Para inscribirte debes aceptar el aviso de privacidad.")
    suggestion = None
    if "email" in values and applicant.email.strip() != applicant.email_as_typed.strip():
        suggestion = typos.suggest_address(values["email"][0])
        if suggestion:
            errors["email"] = _("¿Quisiste decir %(address)s?", address=suggestion)
    if errors:
        raise InvalidRegistration(errors, suggestion)
    email, email_key = values["email"]
    return CleanApplicant(
        name=values["name"],
        email=email,
        email_key=email_key,
        phone=values["phone"],
        country=values["country"],
        organization=values["organization"],
        answers=answers,
    )
