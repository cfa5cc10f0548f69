"""The example frontend's whole stack, as a team runs it: Django under gunicorn (the sample site on a
database of its own, seeded with the demo) and `next build && next start` of `sample_site/frontend/`,
both on 127.0.0.1. Started once per test session (building Next takes a minute or two).

Without Node.js (20.9 or newer) and npm the browser tests that need it skip, or fail with `CI=true`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.services import unavailable

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "sample_site" / "frontend"
PYTHON = sys.executable
MIN_NODE = (20, 9)


def require_node() -> None:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        unavailable("Node.js and npm", "not on PATH", "Install Node.js 20.9 or newer (it brings npm).")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    found = tuple(int(p) for p in re.findall(r"\d+", version)[:2])
    if found < MIN_NODE:
        unavailable("Node.js 20.9 or newer", f"found {version}", "Install a current Node.js LTS.")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


@dataclass
class Stack:
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="tailor-e2e-")))
    django_port: int = field(default_factory=free_port)
    next_port: int = field(default_factory=free_port)
    processes: list[subprocess.Popen] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def django_url(self) -> str:
        return f"http://127.0.0.1:{self.django_port}"

    @property
    def next_url(self) -> str:
        return f"http://127.0.0.1:{self.next_port}"

    @property
    def secret(self) -> str:
        return "e2e-revalidate-secret"

    def django_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE")}
        env.update(
            DJANGO_SETTINGS_MODULE="sample_site.settings",
            DATABASE_URL=f"sqlite:///{self.workdir / 'e2e.sqlite3'}",
            DJANGO_DEBUG="0",
            TAILOR_FRONTEND_ORIGINS=self.next_url,
            TAILOR_FRONTEND_URL=self.next_url,
            TAILOR_REVALIDATE_SECRET=self.secret,
        )
        return env

    def next_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            TAILOR_API_URL=self.django_url,
            NEXT_PUBLIC_TAILOR_API=self.django_url,
            TAILOR_REVALIDATE_SECRET=self.secret,
            NEXT_TELEMETRY_DISABLED="1",
        )
        return env

    def run(self, args: list[str], *, cwd: Path, env: dict[str, str], timeout: float, step: str) -> str:
        started = time.monotonic()
        done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
        self.timings[step] = time.monotonic() - started
        if done.returncode != 0:
            raise RuntimeError(f"{step} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return done.stdout

    def manage(self, *args: str, timeout: float = 120) -> str:
        return self.run([PYTHON, "manage.py", *args], cwd=ROOT, env=self.django_env(), timeout=timeout, step=args[0])

    def shell(self, code: str) -> object:
        """Run Python in the sample site (its database) and return what it prints as JSON."""
        return json.loads(self.manage("shell", "-c", code).strip().splitlines()[-1])

    def spawn(self, args: list[str], *, cwd: Path, env: dict[str, str], name: str) -> tuple[subprocess.Popen, Path]:
        log = self.workdir / f"{name}.log"
        process = subprocess.Popen(
            args, cwd=cwd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes.append(process)
        return process, log

    def start(self) -> Stack:
        require_node()
        self.manage("migrate", "--noinput", timeout=300)
        self.manage("tailor_demo")
        django, django_log = self.spawn(
            [
                PYTHON,
                "-m",
                "gunicorn",
                "sample_site.wsgi",
                "--bind",
                f"127.0.0.1:{self.django_port}",
                "--workers",
                "2",
                "--timeout",
                "60",
            ],
            cwd=ROOT,
            env=self.django_env(),
            name="gunicorn",
        )
        if not (FRONTEND / "node_modules").is_dir():
            self.run(
                ["npm", "ci", "--no-audit", "--no-fund"], cwd=FRONTEND, env=self.next_env(), timeout=600, step="npm ci"
            )
        self.run(["npm", "run", "codegen"], cwd=FRONTEND, env=self.next_env(), timeout=300, step="codegen")
        self.run(["npx", "tsc", "--noEmit"], cwd=FRONTEND, env=self.next_env(), timeout=300, step="tsc")
        self.run(["npx", "next", "build"], cwd=FRONTEND, env=self.next_env(), timeout=900, step="next build")
        wait_for(f"{self.django_url}/graphql/", django, django_log, 60)
        nextjs, next_log = self.spawn(
            ["npx", "next", "start", "-H", "127.0.0.1", "-p", str(self.next_port)],
            cwd=FRONTEND,
            env=self.next_env(),
            name="next",
        )
        wait_for(self.next_url, nextjs, next_log, 60)
        return self

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        shutil.rmtree(self.workdir, ignore_errors=True)
