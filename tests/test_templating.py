"""templating.Environment: an imported template is rendered once and reused, and template
globals still see the environment's later changes (as Jinja's ChainMap did)."""

from __future__ import annotations

from jinja2 import Template

from courses import create_app


def test_an_imported_macro_template_is_rendered_once_not_on_every_import(monkeypatch):
    app = create_app("testing")
    env = app.jinja_env
    page = env.from_string('{% from "_forms.html" import field %}{{ field is defined }}')
    made = []
    original = Template.make_module

    def counting(self, *args, **kwargs):
        made.append(self.name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Template, "make_module", counting)
    with app.test_request_context():
        assert [page.render() for _ in range(3)] == ["True"] * 3
    # Jinja makes a fresh module for each import whose page has a global the imported template
    # lacks; with the globals' keys compared right, _forms.html's module is made once.
    assert made.count("_forms.html") <= 1


def test_template_globals_see_globals_added_after_the_template_was_loaded():
    env = create_app("testing").jinja_env
    template = env.get_template("_forms.html")
    env.globals["added_later"] = "x"
    assert "added_later" in template.globals.keys()
    assert template.globals["added_later"] == "x"
    assert env.from_string("{{ added_later }}").render() == "x"
