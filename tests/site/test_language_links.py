"""The language links of every page lead back to it; those of a personal page are kept nowhere."""

from __future__ import annotations

from courses.extensions import db
from courses.site import views
from tests.factories import OPEN_NOW, enroll, make_course


def _links_kept() -> int:
    return views._links_in_request.cache_info().currsize


def test_a_personal_page_links_back_to_itself_and_its_token_stays_in_no_cache(app, client):
    app.config["FIXED_NOW"] = OPEN_NOW
    with app.app_context():
        _enrollment, token = enroll(make_course())
        db.session.commit()
    views._links_in_request.cache_clear()
    public = client.get("/courses/pesca-acuicultura").get_data(as_text=True)
    assert 'href="/language/en?next=/courses/pesca-acuicultura"' in public
    assert _links_kept() == 1  # public pages share their links
    for path in (f"/my/{token}", f"/my/{token}/modules/1", "/verify/ABCD-EFGH"):
        page = client.get(path).get_data(as_text=True)
        assert f'href="/language/en?next={path}"' in page, path
    searched = client.get("/courses/pesca-acuicultura?country=PE").get_data(as_text=True)
    assert 'href="/language/en?next=/courses/pesca-acuicultura?country%3DPE"' in searched
    assert _links_kept() == 1  # neither a token, a code nor a query string was kept
