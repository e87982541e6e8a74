"""One form-field macro and one error summary for every form; addresses built with url_for."""

from __future__ import annotations

import re
from pathlib import Path

from flask_wtf import FlaskForm
from wtforms import StringField

from courses.coordination.forms import LoginForm

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"


def _templates() -> dict[str, str]:
    return {
        str(path.relative_to(TEMPLATES)): path.read_text(encoding="utf-8")
        for path in TEMPLATES.rglob("*.html")
    }


def test_one_field_macro_and_one_error_summary():
    defined = {name for name, text in _templates().items() if "{% macro field(" in text}
    assert defined == {"_forms.html"}
    summaries = {name for name, text in _templates().items() if "error-summary" in text}
    assert summaries == {"_forms.html"}


def test_templates_and_views_build_addresses_with_url_for():
    fixed = [
        f"{name}: {match.group(0)}"
        for name, text in _templates().items()
        for match in re.finditer(r'(?:href|action|src)="/[^"]*"', text)
    ]
    assert not fixed
    # A redirect to a written path, a course path in an f-string, "{PUBLIC_BASE_URL}/…".
    hard_coded = re.compile(r'redirect\(\s*f?["\']/|f["\']/courses/|PUBLIC_BASE_URL[\'"]\]\}/')
    python = [
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for path in (ROOT / "courses").rglob("*.py")
        for match in hard_coded.finditer(path.read_text("utf-8"))
    ]
    assert not python


class _HintedForm(FlaskForm):
    code = StringField("Código")


def _render(app, source: str, **context) -> str:
    with app.test_request_context("/"):
        return app.jinja_env.from_string(source).render(**context)


def test_the_field_macro_ties_label_hint_and_error_to_the_input(app):
    with app.test_request_context("/"):
        form = _HintedForm(meta={"csrf": False})
        form.code.errors = ["Revisa el código.", "Son 10 letras y números."]
        html = app.jinja_env.from_string(
            '{% from "_forms.html" import field %}'
            '{{ field(form.code, hint="Como viene en el certificado.", attrs={"maxlength": 10}) }}'
        ).render(form=form)
    assert '<div class="field">' in html
    assert '<label for="code">Código</label>' in html
    (tag,) = re.findall(r"<input[^>]*>", html)
    assert 'aria-describedby="code-hint code-error"' in tag
    assert 'aria-invalid="true"' in tag and 'maxlength="10"' in tag
    assert '<p class="hint" id="code-hint">Como viene en el certificado.</p>' in html
    assert '<p class="error" id="code-error">Revisa el código. Son 10 letras y números.</p>' in html


def test_a_field_without_hint_or_error_says_neither(app):
    with app.test_request_context("/"):
        form = LoginForm(meta={"csrf": False})
        html = app.jinja_env.from_string(
            '{% from "_forms.html" import field %}{{ field(form.email) }}'
        ).render(form=form)
    (tag,) = re.findall(r"<input[^>]*>", html)
    assert "aria-describedby" not in tag and "aria-invalid" not in tag
    assert f'<label for="email">{form.email.label.text}</label>' in html
    assert 'class="hint"' not in html and 'class="error"' not in html


def test_the_error_summary_links_each_problem_to_its_field(app):
    summary = [("email", "Correo", "Falta el correo."), ("phone", "Teléfono", "No es un número.")]
    html = _render(
        app,
        '{% from "_forms.html" import error_summary %}'
        '{{ error_summary(summary, "Nada se guardó.") }}',
        summary=summary,
    )
    assert 'id="errores"' in html and 'role="alert"' in html
    assert '<a href="#email">Correo: Falta el correo.</a>' in html
    assert '<a href="#phone">Teléfono: No es un número.</a>' in html
    assert "<p>Nada se guardó.</p>" in html
