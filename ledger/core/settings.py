"""Where the database lives: ``INKL_DATABASE_URL`` or a SQLite file in the instance folder;
where the instance's configuration file lives: ``INKL_CONFIG`` or ``inkl.toml`` there."""
from __future__ import annotations

import os
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[2]
INSTANCE_DIR = Path(os.environ.get("INKL_INSTANCE_DIR", REPO_DIR / "instance"))


def database_url() -> str:
    """The SQLAlchemy URL of the books: ``INKL_DATABASE_URL``, else ``instance/inkl.sqlite``."""
    url = os.environ.get("INKL_DATABASE_URL")
    if url:
        return url
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{INSTANCE_DIR / 'inkl.sqlite'}"


def config_path() -> Path:
    """The instance's configuration file (TOML; today its ``[directory]`` table, the directory
    log-in of ``ledger.core.directory_config``): ``INKL_CONFIG``, else ``instance/inkl.toml``.
    The file need not exist."""
    return Path(os.environ.get("INKL_CONFIG", INSTANCE_DIR / "inkl.toml"))


def pass_through_dirs() -> tuple[Path, ...]:
    """The folders of the Kreise's pass-through plans (``ledger.rules.pass_through_plan``) the
    web app lists: the instance folder's ``verteilung/`` and the folders named in
    ``INKL_PASS_THROUGH_DIRS`` (separated by ``os.pathsep``; ``inkl demo`` adds the demo's).
    The folders need not exist."""
    extra = [Path(part) for part in os.environ.get("INKL_PASS_THROUGH_DIRS", "").split(os.pathsep) if part]
    return (INSTANCE_DIR / "verteilung", *extra)
