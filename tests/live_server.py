"""The sample site as production runs it, for tests that drive it from outside: gunicorn (2 workers)
with DEBUG off, on a PostgreSQL database and a Redis database of its own, seeded with the demo.

PostgreSQL and Redis come from DATABASE_URL and REDIS_URL (as CI sets them); the server gets a fresh
database `tailor_live_<pid>` on that PostgreSQL and Redis database 13 on that Redis, both removed
afterwards. Without them the tests skip, or fail with `CI=true`.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from tests.browser.frontend_stack import free_port, wait_for
from tests.services import require_redis, unavailable

ROOT = Path(__file__).resolve().parents[1]
LIVE_REDIS_DB = 13


def postgres_server_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        unavailable(
            "PostgreSQL",
            "DATABASE_URL does not name a PostgreSQL server",
            "Set DATABASE_URL=postgres://postgres@127.0.0.1:5432/test (as .ci/run does).",
        )
    return url


def _admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)


@dataclass
class LiveServer:
    workers: int = 2
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="tailor-live-")))
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, **settings_env: str) -> LiveServer:
        server = postgres_server_url()
        require_redis()
        self.database = f"tailor_live_{os.getpid()}"
        self.server_url = server
        _admin(server, f'DROP DATABASE IF EXISTS "{self.database}"')
        _admin(server, f'CREATE DATABASE "{self.database}"')
        parts = urllib.parse.urlsplit(server)
        database_url = urllib.parse.urlunsplit(parts._replace(path=f"/{self.database}"))
        redis_parts = urllib.parse.urlsplit(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
        self.redis_url = urllib.parse.urlunsplit(redis_parts._replace(path=f"/{LIVE_REDIS_DB}"))
        import redis

        self.redis = redis.Redis.from_url(self.redis_url, socket_timeout=5)
        self.redis.flushdb()
        self.env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE",)}
        self.env.update(
            DJANGO_SETTINGS_MODULE="sample_site.settings",
            DATABASE_URL=database_url,
            REDIS_URL=self.redis_url,
            DJANGO_DEBUG="0",
            DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
            **settings_env,
        )
        self.manage("migrate", "--noinput", timeout=600)
        self.manage("tailor_demo")
        log = self.workdir / "gunicorn.log"
        self.log = log
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "sample_site.wsgi",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.workers),
                "--timeout",
                "30",
                "--access-logfile",
                "-",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(self.url + "/graphql/", self.process, log, timeout=120)
        return self

    def manage(self, *args: str, timeout: float = 180) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
        return done.stdout

    def worker_pids(self) -> list[int]:
        assert self.process is not None
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def rss_kib(self) -> dict[int, int]:
        """Resident memory of each gunicorn worker, in KiB (from /proc)."""
        sizes = {}
        for pid in self.worker_pids():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes[pid] = int(line.split()[1])
        return sizes

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        if getattr(self, "database", None):
            time.sleep(0.5)
            _admin(self.server_url, f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        if getattr(self, "redis", None) is not None:
            self.redis.flushdb()
