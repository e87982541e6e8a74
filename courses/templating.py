"""The application's Jinja environment: Flask's, with template globals that imports read fast."""

from __future__ import annotations

from collections import ChainMap
from collections.abc import KeysView, MutableMapping
from typing import Any

from flask.templating import Environment as FlaskEnvironment


class TemplateGlobals(ChainMap):
    """A template's globals (its own over the environment's), as Jinja keeps them, but with
    `keys()` answered by a plain dict.

    Each `{% from "…" import … %}` asks Jinja, on every render, which of the page's globals
    the imported template lacks: `page_globals - imported.globals.keys()`. Against a ChainMap's
    KeysView that set difference is a Python loop, three calls for each of the twenty-odd
    globals (130 calls an import, 390 on the registration form); against a dict's keys it is
    one C operation. The dict is built from the maps on each call, so a later change to the
    environment's globals is still seen, as with ChainMap's own view."""

    def keys(self) -> KeysView[str]:
        merged: dict[str, Any] = {}
        for mapping in reversed(self.maps):
            merged.update(mapping)
        return merged.keys()


class Environment(FlaskEnvironment):
    """Flask's Jinja environment, whose templates keep their globals in `TemplateGlobals`."""

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        # As Jinja's own (a template's globals overlay the environment's, never mutate them).
        return TemplateGlobals({} if d is None else d, self.globals)
