"""``inkl serve``: the application under gunicorn, several processes with threads each.

One Python process runs Python on one core at a time, so a single process with threads
queues concurrent dashboards behind each other (docs/benchmarks.md: eight clients on two
cores). gunicorn's pre-fork server runs ``workers`` processes with ``threads`` threads each
(worker class ``gthread``), all serving the one application object built, and warmed up
(``webapp.warm_up``), before the fork.

What the processes share lives outside their memory: the database, the instance folder
(secret key, staged uploads, background jobs' state, ``webapp.jobs``). Each process opens
its own database connections: the engine's pool, empty at the fork, is reset in every
worker (``post_fork``), so no connection is ever used by two processes. The log-in rate
limiter counts per process (``webapp.auth``).

Connections are not kept alive between requests (``keepalive`` 0): a kept-alive connection
stays with the process that accepted it, so eight busy clients could sit six on one
process and two on the other; closed after each response, every request goes to a
process free to accept it (dashboard p95 at 1 000 000 postings, eight clients: 214 → 178
ms). Behind the reverse proxy of the deployment (README) the proxy keeps the browsers'
connections alive; nginx talks to its upstream without keep-alive by default anyway.

gunicorn reads no forwarded headers itself (``secure_scheme_headers`` empty): whether to
trust a reverse proxy's ``X-Forwarded-*`` is the application's decision
(``INKL_TRUSTED_PROXIES``, ``webapp.create_app``).
"""
from __future__ import annotations

import gc

from flask import Flask
from gunicorn.app.base import BaseApplication

from webapp.db import dispose_engines

#: Seconds a worker may stay silent before gunicorn restarts it (requests only; jobs run
#: in their own threads and do not block the worker's heartbeat).
TIMEOUT = 120


class _Server(BaseApplication):
    """gunicorn's documented embedding: the options as settings, ``app`` as the WSGI callable."""

    def __init__(self, app: Flask, options: dict) -> None:
        self._app, self._options = app, options
        super().__init__()

    def load_config(self) -> None:
        for name, value in self._options.items():
            self.cfg.set(name, value)

    def load(self) -> Flask:
        return self._app


def run(app: Flask, *, host: str, port: int, workers: int, threads: int) -> None:
    """Serve ``app`` on ``host``:``port`` with ``workers`` processes of ``threads`` threads
    until SIGINT or SIGTERM (then finish the requests in progress). Logs to stderr."""
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def post_fork(_server, _worker) -> None:
        dispose_engines(app, close=False)

    # The application, built and warmed up, lives as long as the processes: the collector
    # need not walk its objects again (a full collection of them paused a process for 0,1 s
    # in the middle of requests), and the forked workers share their pages unchanged.
    gc.freeze()
    _Server(app, {
        "bind": bind, "workers": workers, "threads": threads, "worker_class": "gthread",
        "timeout": TIMEOUT, "keepalive": 0, "graceful_timeout": 30, "errorlog": "-", "loglevel": "info",
        "proc_name": "inkl", "secure_scheme_headers": {}, "control_socket_disable": True, "post_fork": post_fork,
    }).run()
