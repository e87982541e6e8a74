"""`privacy erase` also takes the person out of the audit log, keeping that each action happened.

Before, the audit kept a name correction's old and new names and the search terms of exports
("q": "Pedro") after the person was erased.
"""

from __future__ import annotations

from sqlalchemy import select

from courses.coordination.models import AuditEntry
from courses.extensions import db
from tests.factories import login_new, make_course, make_enrollment, post

BASE = "/coordinator/pesca-acuicultura/2023"


def _audit() -> list[tuple[str, str | None, dict]]:
    db.session.expire_all()
    return [
        (entry.action, entry.target, entry.details)
        for entry in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))
    ]


def test_erasure_scrubs_names_and_searches_from_the_audit_and_keeps_the_actions(
    app, client, runner
):
    with app.app_context():
        edition = make_course()
        pedro = make_enrollment(
            edition,
            "Pedro Quispe",
            email="pedro.quispe@example.org",
            phone="+51987654321",
            country="PE",
        )
        make_enrollment(edition, "Marta Rojas", email="marta@example.org")
        pedro_id = pedro.id
        db.session.commit()
    login_new(app, client)
    for query in ("Pedro", "quispe", "987654321", "Marta", "PE"):
        response = client.get(f"{BASE}/enrollments.csv?q={query}")
        response.close()
        assert response.status_code == 200
    corrected = post(
        client,
        f"{BASE}/enrollments/{pedro_id}/contact",
        {
            "name": "Pedro Quispe Huamán",
            "email": "pedro.quispe@example.org",
            "phone": "+51987654321",
            "organization": "Caleta Sur",
        },
        form_url=f"{BASE}/enrollments/{pedro_id}",
    )
    assert corrected.status_code == 303
    with app.app_context():
        before = _audit()
    assert "Pedro Quispe Huamán" in str(before)

    result = runner.invoke(args=["privacy", "erase", "pedro.quispe@example.org"])
    assert result.exit_code == 0, result.output

    with app.app_context():
        after = _audit()
    # Every action is still there, on the same targets; plus the erasure itself.
    assert [(a, t) for a, t, _ in after[: len(before)]] == [(a, t) for a, t, _ in before]
    assert after[-1][0] == "privacy.erase"
    text = str(after).casefold()
    for trace in ("pedro", "quispe", "huamán", "987654321"):
        assert trace not in text, trace
    searches = [d["filters"]["q"] for a, _t, d in after if a == "export.csv"]
    assert searches == ["[borrado]", "[borrado]", "[borrado]", "Marta", "PE"]
    page = client.get("/coordinator/audit").get_data(as_text=True)
    assert "Pedro" not in page and "Marta" in page
