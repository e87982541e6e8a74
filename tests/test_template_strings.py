"""Templates translate only their own constants: `i18n._translated` keeps each string a
template passes to `_()` for the process's life, which is safe only because no template passes
anything else (a person's name, an address) as the text to translate. Values go in as
`_("…%(name)s…", name=…)`, formatted per call and never kept."""

from __future__ import annotations

from pathlib import Path

from jinja2 import nodes

from courses import create_app

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def test_every_string_a_template_translates_is_a_constant():
    env = create_app("testing").jinja_env
    calls = 0
    for path in sorted(TEMPLATES.rglob("*")):
        if path.suffix not in (".html", ".txt"):
            continue
        tree = env.parse(path.read_text(encoding="utf-8"))
        for call in tree.find_all(nodes.Call):
            if isinstance(call.node, nodes.Name) and call.node.name in ("_", "gettext"):
                calls += 1
                first = call.args[0] if call.args else None
                assert isinstance(first, nodes.Const), (
                    f"{path.relative_to(TEMPLATES)}:{call.lineno}"
                )
    assert calls > 100  # the walk found the templates' strings
