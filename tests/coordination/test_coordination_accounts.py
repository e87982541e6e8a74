"""Coordinator accounts: the create command, login, session renewal, logout, own password."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import select
from werkzeug.security import check_password_hash

from courses import create_app
from courses.coordination.models import Coordinator
from courses.extensions import db
from tests.factories import (
    PASSWORD,
    audit_actions,
    csrf_token,
    login,
    make_coordinator,
    make_course,
    post,
)

LOGIN = "/coordinator/login"


def _accounts() -> list[tuple[str, str, str | None]]:
    return [
        (c.email, c.role, c.country)
        for c in db.session.scalars(select(Coordinator).order_by(Coordinator.id))
    ]


def test_create_command_reads_the_password_from_stdin_and_hashes_it_with_scrypt(app, runner):
    with app.app_context():
        make_course()
        db.session.commit()
    result = runner.invoke(
        args=[
            "coordinators",
            "create",
            "Focal.PE@Example.org",
            "--role",
            "country",
            "--country",
            "pe",
        ],
        input="una frase bastante larga\n",
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        coordinator = db.session.scalar(select(Coordinator))
        assert coordinator.email == "focal.pe@example.org"
        assert coordinator.country == "PE"
        assert coordinator.password_hash.startswith("scrypt:")
        assert check_password_hash(coordinator.password_hash, "una frase bastante larga")
        assert audit_actions() == ["coordinator.create"]

    result = runner.invoke(
        args=[
            "coordinators",
            "create",
            "curso@example.org",
            "--role",
            "course",
            "--course",
            "pesca-acuicultura",
        ],
        input="otra frase bastante larga\n",
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert (
            db.session.scalar(select(Coordinator).where(Coordinator.email == "curso@example.org"))
            .courses[0]
            .slug
            == "pesca-acuicultura"
        )


def test_create_command_refuses_bad_options_with_a_clear_error_and_stores_nothing(app, runner):
    with app.app_context():
        make_course()
        db.session.commit()
    cases = [
        (["x@example.org", "--role", "course"], "--course"),
        (["x@example.org", "--role", "course", "--course", "nope"], "nope"),
        (["x@example.org", "--role", "country"], "--country"),
        (["x@example.org", "--role", "country", "--country", "ZZZ"], "ZZZ"),
        (["x@example.org", "--role", "admin", "--country", "PE"], "--country"),
        (["no-es-correo", "--role", "admin"], "no-es-correo"),
        (["x@example.org", "--role", "boss"], "boss"),
    ]
    for args, expected in cases:
        result = runner.invoke(args=["coordinators", "create", *args], input="una frase larga\n")
        assert result.exit_code != 0, args
        assert expected in result.output, (args, result.output)
    result = runner.invoke(
        args=["coordinators", "create", "x@example.org", "--role", "admin"], input="corta\n"
    )
    assert result.exit_code == 1
    assert "12" in result.output
    with app.app_context():
        assert _accounts() == []
        assert audit_actions() == []


def test_create_command_refuses_a_second_account_with_the_same_email(app, runner):
    with app.app_context():
        make_coordinator("admin", email="ana@example.org")
        db.session.commit()
    result = runner.invoke(
        args=["coordinators", "create", "ANA@example.org", "--role", "admin"],
        input="una frase bastante larga\n",
    )
    assert result.exit_code == 1
    assert "ana@example.org" in result.output
    with app.app_context():
        assert len(_accounts()) == 1


def test_coordinator_pages_need_a_login(app, client):
    with app.app_context():
        make_course()
        db.session.commit()
    for url in [
        "/coordinator/",
        "/coordinator/pesca-acuicultura/2023/enrollments",
        "/coordinator/pesca-acuicultura/2023/enrollments.csv",
        "/coordinator/audit",
    ]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/coordinator/login" in response.headers["Location"]


def test_wrong_email_and_wrong_password_get_the_same_answer(app, client):
    with app.app_context():
        coordinator_id = make_coordinator("admin", email="ana@example.org").id
        db.session.commit()
    answers = []
    for email, password in [
        ("ana@example.org", "wrong password!"),
        ("nadie@example.org", PASSWORD),
    ]:
        response = client.post(
            "/coordinator/login",
            data={"email": email, "password": password, "csrf_token": csrf_token(client, LOGIN)},
        )
        assert response.status_code == 401
        answers.append(response.get_data(as_text=True).replace(email, "EMAIL"))
    assert "Correo o contraseña incorrectos." in answers[0]
    assert answers[0].split("<form")[0] == answers[1].split("<form")[0]
    assert client.get("/coordinator/").status_code == 302
    with app.app_context():
        coordinator = db.session.get(Coordinator, coordinator_id)
        assert coordinator.last_login_at is None


def test_login_renews_the_session_and_logout_ends_it(app, client):
    with app.app_context():
        coordinator = make_coordinator("admin")
        db.session.commit()
        db.session.refresh(coordinator)  # loaded, so its columns stay readable detached
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    login(client, coordinator.email)
    with client.session_transaction() as session:
        assert "planted" not in session
        # The cookie names a server-side session: nothing of the account or its password.
        session_id = session["_user_id"]
        assert len(session_id) >= 40 and str(coordinator.id) != session_id
        assert coordinator.password_hash[-16:] not in repr(dict(session))
    assert client.get("/coordinator/").status_code == 200
    # Logout only by POST (a link or an image cannot log someone out).
    assert client.get("/coordinator/logout").status_code == 405
    response = post(client, "/coordinator/logout")
    assert response.status_code == 303
    assert client.get("/coordinator/").status_code == 302
    with app.app_context():
        assert audit_actions() == ["login", "logout"]


def test_inactive_account_cannot_log_in(app, client):
    with app.app_context():
        coordinator = make_coordinator("admin")
        coordinator.active = False
        email = coordinator.email
        db.session.commit()
    response = client.post(
        "/coordinator/login",
        data={"email": email, "password": PASSWORD, "csrf_token": csrf_token(client, LOGIN)},
    )
    assert response.status_code == 401


def test_coordinator_changes_own_password(app, client):
    with app.app_context():
        coordinator = make_coordinator("country", country="PE")
        coordinator_id, email = coordinator.id, coordinator.email
        db.session.commit()
    login(client, email)
    response = post(
        client, "/coordinator/password", {"current": "wrong", "new": "x" * 12, "confirm": "x" * 12}
    )
    assert response.status_code == 400
    assert "La contraseña actual no es correcta." in response.get_data(as_text=True)
    response = post(
        client, "/coordinator/password", {"current": PASSWORD, "new": "corta", "confirm": "corta"}
    )
    assert response.status_code == 400
    with app.app_context():
        coordinator = db.session.get(Coordinator, coordinator_id)
        assert check_password_hash(coordinator.password_hash, PASSWORD)
    response = post(
        client,
        "/coordinator/password",
        {"current": PASSWORD, "new": "nueva frase secreta", "confirm": "nueva frase secreta"},
    )
    assert response.status_code == 303
    with app.app_context():
        coordinator = db.session.get(Coordinator, coordinator_id)
        assert check_password_hash(coordinator.password_hash, "nueva frase secreta")
        assert "password.change" in audit_actions()
    assert client.get("/coordinator/").status_code == 200


def test_deactivation_or_a_new_password_ends_open_sessions(app, client):
    with app.app_context():
        coordinator = make_coordinator("course", course=make_course().course)
        coordinator_id, email = coordinator.id, coordinator.email
        db.session.commit()
    login(client, email)
    other = app.test_client()
    login(other, email)
    assert (
        post(
            client,
            "/coordinator/password",
            {"current": PASSWORD, "new": "nueva frase secreta", "confirm": "nueva frase secreta"},
        ).status_code
        == 303
    )
    assert other.get("/coordinator/").status_code == 302
    assert client.get("/coordinator/").status_code == 200
    with app.app_context():
        db.session.get(Coordinator, coordinator_id).active = False
        db.session.commit()
    assert client.get("/coordinator/").status_code == 302


def test_login_attempts_are_limited_per_account(database_url):
    app = _limited_app(database_url)
    with _tables(app):
        client = app.test_client()
        token = csrf_token(client, LOGIN)
        statuses = [
            client.post(
                "/coordinator/login",
                data={"email": "ana@example.org", "password": "nope nope", "csrf_token": token},
            ).status_code
            for _ in range(11)
        ]
        assert statuses[:10] == [401] * 10
        assert statuses[10] == 429
        # Even the right password waits: the account is under attack.
        response = client.post(
            "/coordinator/login",
            data={"email": "ana@example.org", "password": PASSWORD, "csrf_token": token},
        )
        assert response.status_code == 429


def _limited_app(database_url):
    return create_app(
        "testing", {"SQLALCHEMY_DATABASE_URI": database_url, "RATELIMIT_ENABLED": True}
    )


@contextmanager
def _tables(app) -> Iterator[None]:
    """Tables for an application of the test's own, with Ana's admin account committed; the
    test's requests run outside any context, and the tables go afterwards."""
    with app.app_context():
        db.create_all()
        make_coordinator("admin", email="ana@example.org")
        db.session.commit()
    try:
        yield
    finally:
        with app.app_context():
            db.session.remove()
            db.drop_all()
            db.engine.dispose()


def _login_status(client, email: str, password: str) -> int:
    token = csrf_token(client, LOGIN)
    data = {"email": email, "password": password, "csrf_token": token}
    return client.post("/coordinator/login", data=data).status_code


def test_successful_logins_never_count_toward_the_limit(database_url):
    """A coordinator was locked out for 15 minutes after about 11 logins."""
    app = _limited_app(database_url)
    with _tables(app):
        client = app.test_client()
        statuses = [_login_status(client, "ana@example.org", PASSWORD) for _ in range(25)]
        assert statuses == [303] * 25


def test_failures_from_elsewhere_cannot_lock_the_owner_out(database_url):
    app = _limited_app(database_url)
    with _tables(app):
        attacker = app.test_client()
        attacker.environ_base["REMOTE_ADDR"] = "203.0.113.9"
        # Spellings of the same account count together for the attacker.
        spellings = ["ana@example.org", "ANA@example.org", "ana@\uff45xample.org"]
        statuses = [_login_status(attacker, spellings[n % 3], "nope nope") for n in range(11)]
        assert statuses == [401] * 10 + [429]
        owner = app.test_client()
        owner.environ_base["REMOTE_ADDR"] = "198.51.100.7"
        assert _login_status(owner, "ana@example.org", PASSWORD) == 303


COMMON = ["aaaaaaaaaaaa", "password1234", "qwertyuiop12", "Password123!", "alianzapacifico"]


@pytest.mark.parametrize("weak", COMMON)
def test_the_create_command_refuses_common_or_guessable_passwords(app, runner, weak):
    """Only the length was checked: `aaaaaaaaaa` was accepted."""
    result = runner.invoke(
        args=["coordinators", "create", "x@example.org", "--role", "admin"], input=f"{weak}\n"
    )
    assert result.exit_code == 1
    assert "común o fácil de adivinar" in result.output
    with app.app_context():
        assert _accounts() == []


def test_a_password_of_11_characters_is_too_short(app, runner):
    result = runner.invoke(
        args=["coordinators", "create", "x@example.org", "--role", "admin"],
        input="tres pájaro\n",
    )
    assert result.exit_code == 1
    assert "al menos 12 caracteres" in result.output


@pytest.mark.parametrize("weak", ["password1234", "aaaaaaaaaaaa"])
def test_the_web_refuses_common_passwords_for_a_change_and_for_a_new_account(app, client, weak):
    with app.app_context():
        coordinator = make_coordinator("admin")
        coordinator_id, email = coordinator.id, coordinator.email
        db.session.commit()
    login(client, email)
    response = post(
        client, "/coordinator/password", {"current": PASSWORD, "new": weak, "confirm": weak}
    )
    assert response.status_code == 400
    assert "común o fácil de adivinar" in response.get_data(as_text=True)
    with app.app_context():
        coordinator = db.session.get(Coordinator, coordinator_id)
        assert check_password_hash(coordinator.password_hash, PASSWORD)
    response = post(
        client,
        "/coordinator/accounts",
        {"email": "nueva@example.org", "role": "admin", "password": weak},
        form_url="/coordinator/accounts",
    )
    assert response.status_code == 400
    assert "común o fácil de adivinar" in response.get_data(as_text=True)
    with app.app_context():
        assert len(_accounts()) == 1
