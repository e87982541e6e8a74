"""The bare stack: a minimal Flask app measured in the same run, under the same gunicorn settings.

Served as `bench.baseline:app`. It does the least a page of ours could do with the same
libraries: (a) `/hello` a short string; (b) `/form` a Flask-WTF form with a CSRF token, padded to
the size of our registration page (BASELINE_FORM_BYTES); (c) `POST /insert` one row with a unique
constraint into the same kind of database (BASELINE_DATABASE_URL; SQLite gets the app's settings,
`courses.database.install`).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from flask import Flask, render_template, request
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from jinja2 import DictLoader
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    insert,
)
from sqlalchemy.exc import IntegrityError
from wtforms import BooleanField, EmailField, SelectField, StringField, TelField

from courses import database

metadata = MetaData()
signup = Table(
    "signup",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("name", String(120)),
    Column("created_at", DateTime),
)

PAGE = """<!doctype html>
<html lang="es"><head><meta charset="utf-8"><title>Inscripción</title></head>
<body><main><form method="post" action="/insert">
{{ form.csrf_token }}
<p><label for="name">Nombre</label> {{ form.name(autocomplete="name") }}</p>
<p><label for="email">Correo</label> {{ form.email(autocomplete="email") }}</p>
<p><label for="phone">Teléfono</label> {{ form.phone(autocomplete="tel") }}</p>
<p><label for="country">País</label> {{ form.country() }}</p>
<p><label for="organization">Organización</label> {{ form.organization() }}</p>
<p>{{ form.consent() }} <label for="consent">Acepto</label></p>
<button>Inscribirme</button></form>
<!--{{ padding }}--></main></body></html>"""


class SignupForm(FlaskForm):
    name = StringField()
    email = EmailField()
    phone = TelField()
    country = SelectField(choices=[("CL", "Chile"), ("CO", "Colombia"), ("MX", "México")])
    organization = StringField()
    consent = BooleanField()


def create_baseline() -> Flask:
    """The baseline application, configured from the environment the harness sets."""
    app = Flask(__name__)
    app.jinja_loader = DictLoader({"form.html": PAGE})  # compiled once and cached, like ours
    app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY", "baseline-secret-key-0123456789")
    app.config["WTF_CSRF_TIME_LIMIT"] = None
    csrf = CSRFProtect(app)
    # The harness creates the table; no connection is opened here, and a forked worker (gunicorn
    # with preload_app) drops the pool it inherited instead of sharing the master's sockets.
    engine = create_engine(os.environ.get("BASELINE_DATABASE_URL", "sqlite://"))
    # The app's own SQLite settings, on this engine as the app does on its own: WAL, the busy
    # timeout, synchronous=NORMAL, BEGIN IMMEDIATE and the writer queue (nothing on PostgreSQL).
    # Importing courses.database once did it for every engine; since the settings became the
    # app engine's alone (c7be83e) the bare insert had run on SQLite's defaults (a rollback
    # journal, a full sync per commit) until this line.
    database.install(engine)
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    target_size = int(os.environ.get("BASELINE_FORM_BYTES", "0"))
    padding_size = {"n": None}

    @app.get("/hello")
    def hello() -> str:
        return "Hola, Alianza del Pacífico"

    @app.get("/form")
    def form() -> str:
        page_form = SignupForm()
        if padding_size["n"] is None:  # measure once, then pad every page to the target size
            bare = render_template("form.html", form=page_form, padding="")
            padding_size["n"] = max(0, target_size - len(bare.encode()))
        return render_template("form.html", form=page_form, padding="x" * padding_size["n"])

    @app.post("/insert")
    @csrf.exempt
    def insert_row():
        email = (request.form.get("email") or "").strip().lower()
        if not email:
            return "email required", 400
        try:
            with engine.begin() as conn:
                conn.execute(
                    insert(signup),
                    {
                        "email": email,
                        "name": request.form.get("name", ""),
                        "created_at": datetime.now(UTC).replace(tzinfo=None),
                    },
                )
        except IntegrityError:
            return "duplicate", 409
        return "", 303, {"Location": "/hello"}

    @app.get("/__bench_ready__")
    def ready() -> str:
        return "ok"

    return app


app = create_baseline()
