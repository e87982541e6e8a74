"""Likely duplicates of a page of the list, in an edition with a large group of namesakes.

The page's people are compared with their own phone and name groups only, never every pair
among the neighbours, and still find exactly what comparing every pair finds.
"""

from __future__ import annotations

import importlib.util
import unicodedata
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql

from courses.catalog.models import Edition
from courses.coordination import listing
from courses.coordination.models import Coordinator
from courses.coordination.services import scoped_enrollments
from courses.extensions import db
from courses.participants import merge
from courses.registration.models import Enrollment
from tests.factories import NOW, make_coordinator, make_course, make_enrollment

#: How many "María González" (spelt in several ways) the crafted edition holds in Peru.
GROUP = 120
SPELLINGS = ("María González", "maria gonzalez", "MARÍA GONZÁLEZ", "Maria Gonzalez")


def _levenshtein(a: str, b: str) -> int:
    """Plain edit distance, written independently of the code under test."""
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            cost = char_a != char_b
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost))
        previous = current
    return previous[-1]


def _folded(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", " ".join(name.split()).lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def all_pairs(people: list[Enrollment]) -> dict[int, set[int]]:
    """Every pair of `people` compared by the rule: same phone, or same name and close e-mails."""
    found: dict[int, set[int]] = {}
    for a in people:
        for b in people:
            if a.id == b.id:
                continue
            same_phone = bool(a.phone) and a.phone == b.phone
            close = (
                _folded(a.name) == _folded(b.name)
                and _levenshtein(a.email_key, b.email_key) <= merge.EMAIL_DISTANCE
            )
            if same_phone or close:
                found.setdefault(a.id, set()).add(b.id)
    return found


@pytest.fixture
def crowded(app):
    """A Peruvian group of namesakes with near and far addresses, a few shared phones, the same
    names (and a shared phone) in Chile, one erased namesake, and unrelated people."""
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        edition = make_course(modules=2)
        for i in range(GROUP):
            # Numbered addresses are one or two edits apart; every fifth is far from the rest.
            email = f"m.g.{i}@example.org" if i % 5 else f"maria{i:03d}.lejos{i}@correo.pe"
            phone = "+51987100000" if i in (7, 70) else f"+519871{i:05d}"
            make_enrollment(
                edition,
                SPELLINGS[i % len(SPELLINGS)],
                email=email,
                country="PE",
                phone=phone,
            )
        for i in range(30):
            make_enrollment(
                edition,
                "María González",
                email=f"m.g.{i}@example.com",
                country="CL",
                phone="+51987100000" if i == 3 else f"+569871{i:05d}",
            )
        erased = make_enrollment(
            edition, "María González", email="m.g.1@example.net", country="PE", phone="+51900000001"
        )
        erased.erased_at = NOW
        for i in range(20):
            make_enrollment(
                edition,
                f"Persona {i}",
                email=f"p{i}@example.org",
                country="PE",
                phone=f"+5190{i:07d}",
            )
        peru = make_coordinator("country", country="PE")
        admin = make_coordinator("admin")
        db.session.commit()
        return edition.id, peru.id, admin.id


def _page_people(coordinator: Coordinator, edition, page: int, q: str = "") -> list:
    filters = listing.ListFilters.from_args({"q": q, "sort": "name", "page": str(page)})
    rows = listing.page(listing.filtered(coordinator, edition, filters), page)
    return [(row.id, row.name, row.phone) for row in rows]


def _in_scope(coordinator: Coordinator, edition) -> list[Enrollment]:
    stmt = scoped_enrollments(coordinator, edition).where(Enrollment.erased_at.is_(None))
    return list(db.session.scalars(stmt))


@pytest.mark.parametrize("who", ["peru", "admin"])
def test_every_page_finds_what_comparing_every_pair_in_scope_finds(app, crowded, who):
    edition_id, peru_id, admin_id = crowded
    with app.app_context():
        coordinator = db.session.get(Coordinator, peru_id if who == "peru" else admin_id)
        edition = db.session.get(Edition, edition_id)
        expected = all_pairs(_in_scope(coordinator, edition))
        pages = -(-len(_in_scope(coordinator, edition)) // listing.PAGE_SIZE)
        flagged: set[int] = set()
        for number in range(1, pages + 1):
            people = _page_people(coordinator, edition, number)
            found = listing.likely_duplicates_of(coordinator, edition, people)
            ids = {id_ for id_, _name, _phone in people}
            assert found == {id_: expected[id_] for id_ in ids if id_ in expected}
            flagged.update(*found.values())
        assert any(len(others) > 3 for others in expected.values())
        chile = {e.id for e in db.session.scalars(select(Enrollment)) if e.country == "CL"}
        # The Peruvian coordinator never hears of a Chilean twin; the admin does.
        assert bool(chile & flagged) == (who == "admin")


def test_a_page_compares_its_people_only_and_nobody_outside_the_scope(app, crowded, monkeypatch):
    edition_id, peru_id, _admin_id = crowded
    compared: list[tuple[str, str]] = []
    real = merge.distance

    def counting(a: str, b: str, limit: int = merge.EMAIL_DISTANCE) -> int:
        compared.append((a, b))
        return real(a, b, limit)

    monkeypatch.setattr(merge, "distance", counting)
    with app.app_context():
        coordinator = db.session.get(Coordinator, peru_id)
        edition = db.session.get(Edition, edition_id)
        people = _page_people(coordinator, edition, 1, q="gonzalez")[:5]
        assert len(people) == 5
        found = listing.likely_duplicates_of(coordinator, edition, people)
        assert found  # the numbered addresses have near twins
        # Five people against the rest of their group of 120: not 120 × 119 / 2 pairs.
        assert 0 < len(compared) <= 5 * GROUP
        chile = {e.email_key for e in db.session.scalars(select(Enrollment)) if e.country == "CL"}
        assert not chile & {address for pair in compared for address in pair}


def test_the_postgresql_name_index_is_on_the_folding_the_lookup_uses():
    # An index on another expression would silently stop serving the lookup.
    path = Path(__file__).parents[2] / "migrations/versions/i17d_duplicate_lookup_indexes.py"
    spec = importlib.util.spec_from_file_location("i17d", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    compiled = str(listing.fold_sql(Enrollment.name).compile(dialect=postgresql.dialect()))
    assert compiled == migration.FOLDED_NAME.replace("(name)", "(enrollment.name)")
