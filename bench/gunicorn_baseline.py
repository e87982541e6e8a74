"""gunicorn settings for the baseline: the production file's settings, without its post_fork.

The production `post_fork` builds our application (`from wsgi import app`) in every worker to
reset its connection pool; in the baseline's workers that would charge the bare stack for our
app. The baseline resets its own pool after a fork (see bench/baseline.py).
"""

import runpy
from pathlib import Path

_PRODUCTION = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"
if _PRODUCTION.exists():
    for _name, _value in runpy.run_path(str(_PRODUCTION)).items():
        if not _name.startswith("_") and _name not in ("post_fork", "os"):
            globals()[_name] = _value
