"""Certificates pages."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("certificates", __name__)
