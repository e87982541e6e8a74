"""Forms shared by every feature."""

from __future__ import annotations

from flask_wtf import FlaskForm


class ActionForm(FlaskForm):
    """A bare button: only the CSRF token."""
