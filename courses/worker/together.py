"""Run several processes as one: `python -m courses.worker.together -- CMD… -- CMD…`.

`make run` and `make serve` use it to start the web server and the delivery worker side by
side. Ctrl-C (SIGINT to the terminal's whole process group) or SIGTERM stops all of them:
each child gets SIGTERM (the worker finishes the message in hand), and whatever is still
running after `GRACE_SECONDS` is killed. If one child exits by itself, the others are stopped
too, and the exit code is that child's. On Linux a child also gets SIGTERM if this process is
killed outright, so nothing is left behind.
"""

from __future__ import annotations

import ctypes
import signal
import subprocess
import sys
import time
from collections.abc import Sequence

#: Seconds the children get to finish after being asked to stop.
GRACE_SECONDS = 20.0
_PR_SET_PDEATHSIG = 1


def split_commands(argv: Sequence[str]) -> list[list[str]]:
    """["--", "a", "b", "--", "c"] → [["a", "b"], ["c"]]."""
    commands: list[list[str]] = []
    for arg in argv:
        if arg == "--":
            commands.append([])
        elif commands:
            commands[-1].append(arg)
        else:
            commands.append([arg])
    return [command for command in commands if command]


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux to send SIGTERM when the parent dies."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the signal forwarding below still stops the children


def run(commands: list[list[str]]) -> int:
    """Start every command, wait until one ends or a stop signal comes, stop them all."""
    stopping = False

    def stop(signum, _frame) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    children = [subprocess.Popen(command, preexec_fn=_die_with_parent) for command in commands]
    code = 0
    while not stopping:
        ended = [child for child in children if child.poll() is not None]
        if ended:
            code = ended[0].returncode
            print(f"together: {' '.join(ended[0].args)} exited ({code})", file=sys.stderr)
            break
        time.sleep(0.2)
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    return code


def main(argv: Sequence[str]) -> int:
    commands = split_commands(argv)
    if not commands:
        print("usage: python -m courses.worker.together -- CMD… -- CMD…", file=sys.stderr)
        return 2
    return run(commands)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
