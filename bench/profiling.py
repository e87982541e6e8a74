"""Profiles of the gunicorn workers under load, with py-spy (sampling, out of process).

`record()` samples every worker for the length of one extra, unscored run of a scenario,
including idle time (waits on the database lock or the SMTP server show up as such);
`summarise()` turns py-spy's collapsed stacks into the few lines the report quotes.
`plain()` makes what a cost script's `--dump` wrote comparable across runs and versions.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

PY_SPY = Path(sys.executable).parent / "py-spy"
FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]+)(?::(?P<line>\d+))?\)$")


def available() -> bool:
    return PY_SPY.exists() or shutil.which("py-spy") is not None


def record(pids: list[int], seconds: float, out_dir: Path, key: str) -> list[subprocess.Popen]:
    """Start one py-spy per worker; wait on the returned processes after the load."""
    exe = str(PY_SPY) if PY_SPY.exists() else "py-spy"
    processes = []
    for pid in pids:
        command = [
            exe, "record", "--pid", str(pid), "--duration", str(max(1, round(seconds))),
            "--rate", "250", "--idle", "--nonblocking", "--format", "raw",
            "--output", str(out_dir / f"profile-{key}-{pid}.txt"),
        ]  # fmt: skip
        processes.append(
            subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        )
    return processes


def _frames(stack: str) -> list[tuple[str, str]]:
    """(function, short file) per frame, outermost first."""
    frames = []
    for part in stack.split(";"):
        match = FRAME.match(part.strip())
        if not match:
            frames.append((part.strip(), ""))
            continue
        path = match.group("file")
        short = path.split("site-packages/")[-1] if "site-packages/" in path else path
        short = short.split("/work/main/")[-1]
        frames.append((match.group("func"), short))
    return frames


def summarise(files: list[Path], top: int = 12) -> list[str]:
    """Where the workers' time went while handling requests: first-party and leaf frames."""
    in_request = 0
    total = 0
    inclusive: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    for path in files:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            n = int(count)
            total += n
            frames = _frames(stack)
            names = [f.rsplit(".", 1)[-1] for f, _ in frames]
            if "handle_request" not in names:
                continue  # waiting for the next connection: not the app's time
            in_request += n
            start = names.index("handle_request")
            seen = set()
            for func, short in frames[start:]:
                label = f"{func} ({short})"
                short_func = func.rsplit(".", 1)[-1]
                if (
                    short.startswith(("courses/", "templates/")) or short_func in _INTERESTING
                ) and (label not in seen):
                    inclusive[label] += n
                    seen.add(label)
            func, short = frames[-1]
            leaves[f"{func} ({short})"] += n
    if not in_request:
        return ["(no samples inside requests: py-spy unavailable or not permitted)"]
    lines = [
        f"{in_request} of {total} samples inside requests ({in_request / total:.0%}); "
        "share of request time, inclusive:"
    ]
    lines += [f"  {n / in_request:6.1%}  {label}" for label, n in inclusive.most_common(top)]
    lines.append("leaf frames (where the time is actually spent):")
    lines += [f"  {n / in_request:6.1%}  {label}" for label, n in leaves.most_common(top)]
    return lines


#: Library entry points worth naming even though they are not ours.
_INTERESTING = {
    "render_template",
    "commit",
    "flush",
    "_execute_context",
    "send",
    "sendmail",
    "validate_email",
    "generate_csrf",
    "validate_csrf",
    "output",
}


def plain(value, varying: Iterable[tuple[re.Pattern[str], str]]):
    """`value` as plain JSON data, each `varying` (pattern, replacement) applied to its text."""
    if isinstance(value, str):
        for pattern, replacement in varying:
            value = pattern.sub(replacement, value)
        return value
    if isinstance(value, dict):
        return {k: plain(v, varying) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v, varying) for v in value]
    if value is None or isinstance(value, int | float | bool):
        return value
    return plain(str(value), varying)  # dates, decimals, rows' other types: as their text
