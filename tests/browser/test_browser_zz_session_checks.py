"""Checks over everything the session's browser tests saw: valid HTML, a server without errors.

The hook in this folder's conftest runs these after all other tests, so the Nu Html Checker's
JVM starts once for every page collected.
"""

from __future__ import annotations

import pytest

from tests.browser.browser_support import missing_browser_reason, run_vnu

REASON = missing_browser_reason()
if REASON:
    pytest.skip(REASON, allow_module_level=True)

pytestmark = pytest.mark.browser


def test_every_page_visited_is_valid_html(site_checks, tmp_path):
    if not site_checks.pages:
        pytest.skip("no browser test collected a page in this session")
    errors = run_vnu(site_checks.pages, tmp_path / "vnu")
    checked = ", ".join(sorted({page.name for page in site_checks.pages}))
    assert not errors, "Nu Html Checker errors:\n" + "\n".join(errors) + f"\n(checked: {checked})"


def test_server_logged_no_error(live_server):
    log = live_server.log_path.read_text(errors="replace")
    assert "Traceback" not in log, live_server.log_tail(120)
    assert '" 500 ' not in log, live_server.log_tail(120)
