"""Coordination pages."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("coordination", __name__)
