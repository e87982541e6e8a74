"""Participants pages."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("participants", __name__)
