"""Import of monthly finance-system exports through the web UI (upload, dry run, commit, history)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("imports", __name__, url_prefix="/r/<key>")
