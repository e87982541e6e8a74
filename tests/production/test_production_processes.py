"""`make run` and `make serve`: the web server and the delivery worker together, stopped together.

Run as a terminal runs them: `make` leads a process group of its own, and Ctrl-C is SIGINT to
that whole group. Afterwards no process of the group may be left (no orphaned worker or server).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from tests.production.prodkit import (
    ROOT,
    SECRET,
    Browser,
    engine_for,
    free_port,
    registration_fields,
    scalar,
    wait_until,
)

pytestmark = pytest.mark.slow

DEMO_FORM = "/courses/pesca-acuicultura/demo/register"


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _answers(base: str) -> bool:
    try:
        return Browser(base, timeout=2).get("/healthz")[0] == 200
    except OSError:
        return False


@pytest.mark.parametrize("target", ["run", "serve"])
def test_make_starts_the_server_and_the_worker_and_ctrl_c_stops_both(tmp_path, target):
    port = free_port()
    database = f"sqlite:///{tmp_path / 'make.sqlite3'}"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MAIL_", "RATELIMIT_", "GUNICORN_", "DATABASE_", "TEST_DATABASE"))
        and key not in ("COURSES_CONFIG", "SECRET_KEY", "PUBLIC_BASE_URL", "WEB_CONCURRENCY")
    }
    env.update(DATABASE_URL=database, PORT=str(port), RATELIMIT_ENABLED="0")
    if target == "serve":
        # Production has no mailbox: the worker needs a mail server; a closed port will do
        # (the mail stays queued), the point here is the processes.
        env.update(SECRET_KEY=SECRET, MAIL_SERVER="127.0.0.1", MAIL_PORT=str(free_port()))
        env["GUNICORN_BIND"] = f"127.0.0.1:{port}"
    log_path = tmp_path / "make.log"
    with log_path.open("wb") as log:
        make = subprocess.Popen(
            ["make", "--no-print-directory", target],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal's foreground job
        )
    pgid = make.pid
    try:
        base = f"http://127.0.0.1:{port}"
        assert wait_until(lambda: _answers(base), seconds=120), log_path.read_text()[-3000:]
        assert wait_until(lambda: "worker: started" in log_path.read_text(), seconds=30)
        if target == "run":
            # Development: the confirmation reaches the mailbox through the worker.
            browser = Browser(base)
            token = browser.csrf_from(DEMO_FORM)
            status, _, _ = browser.post(DEMO_FORM, registration_fields(1, token))
            assert status == 303
            engine = engine_for(database)
            try:
                sent = "SELECT count(*) FROM outbox_message WHERE sent_at IS NOT NULL"
                assert wait_until(lambda: scalar(engine, sent) == 1, seconds=30)
            finally:
                engine.dispose()

        os.killpg(pgid, signal.SIGINT)  # Ctrl-C
        make.wait(timeout=60)
        assert wait_until(lambda: not _group_alive(pgid), seconds=30), subprocess.run(
            ["ps", "-o", "pid,pgid,args", "-g", str(pgid)], capture_output=True, text=True
        ).stdout
        assert not _answers(base)
        assert "worker: stopped" in log_path.read_text()
    finally:
        if _group_alive(pgid):
            os.killpg(pgid, signal.SIGKILL)
            time.sleep(0.5)
