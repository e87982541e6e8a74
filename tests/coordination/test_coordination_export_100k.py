"""An export of 100,000 enrollees is streamed: its peak memory stays far below the data size.

Peak memory is the process's high-water mark (VmHWM) after resetting it through
/proc/self/clear_refs, minus the resident size before the export: what the export really
costs, without tracemalloc's slowdown. Elsewhere tracemalloc's peak is used instead.
"""

from __future__ import annotations

import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert

from courses.extensions import db
from courses.registration.models import Enrollment
from tests.factories import NOW, login_new, make_course

ROWS = 100_000


def _fill(edition_id: int) -> None:
    batch = []
    for number in range(ROWS):
        batch.append(
            {
                "edition_id": edition_id,
                "name": f"Persona Núñez {number}",
                "email": f"persona{number}@example.org",
                "email_key": f"persona{number}@example.org",
                "phone": f"+569{number:08d}",
                "country": ("CL", "CO", "MX", "PE")[number % 4],
                "organization": "Sindicato de Pescadores Artesanales de la Caleta",
                "status": "registered",
                "locale": "es",
                "token_salt": f"{number:032d}",
                "token_hash": f"{number:064d}",
                "consent_at": NOW,
                "privacy_version": "2023-06",
                "created_at": NOW - timedelta(seconds=number),
            }
        )
        if len(batch) == 10_000 or number == ROWS - 1:
            db.session.execute(insert(Enrollment), batch)
            batch = []
    db.session.commit()


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


class PeakMemory:
    """Peak memory growth during a block, in bytes."""

    def __enter__(self) -> PeakMemory:
        self.proc = Path("/proc/self/clear_refs").exists()
        if self.proc:
            Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
            self.before = _status_kb("VmRSS")
        else:
            tracemalloc.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.proc:
            self.peak = (_status_kb("VmHWM") - self.before) * 1024
        else:
            self.peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()


@pytest.mark.slow
def test_export_of_100000_rows_is_streamed_with_bounded_memory(app, client, record_property):
    with app.app_context():
        edition = make_course()
        _fill(edition.id)
    login_new(app, client)
    for kind in ("csv", "xlsx"):
        started = time.perf_counter()
        with PeakMemory() as memory:
            response = client.get(
                f"/coordinator/pesca-acuicultura/2023/enrollments.{kind}", buffered=False
            )
            size = lines = 0
            for chunk in response.response:
                size += len(chunk)
                lines += chunk.count(b"\n")
            response.close()
        peak = memory.peak
        seconds = time.perf_counter() - started
        record_property(f"{kind}_peak_bytes", peak)
        record_property(f"{kind}_seconds", round(seconds, 1))
        print(
            f"export {kind}: {ROWS} rows, {size / 1e6:.1f} MB in {seconds:.1f} s, "
            f"peak memory growth {peak / 1e6:.1f} MB"
        )
        assert response.status_code == 200
        if kind == "csv":
            assert lines == ROWS + 1
        # The rows would take hundreds of MB as objects; a batch at a time takes a few MB.
        assert peak < 40_000_000, peak
