"""Calling services that fail: a circuit breaker and an HTTP GET bounded by a deadline.

Plain Python (no Django), shared by the providers (weather, geo, ...). A provider must never make a
page slower than its budget nor raise because a third party is down: it answers "unknown" instead.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

logger = logging.getLogger(__name__)

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"

DEFAULT_MAX_BYTES = 64 * 1024


class CircuitBreaker:
    """Stops calling a failing service for a while, then lets one trial call probe it.

    closed --(`failure_threshold` consecutive failures)--> open --(`reset_timeout` s)--> half-open;
    in half-open exactly one caller is allowed through: its success closes the circuit, its failure
    opens it again for another `reset_timeout`. Callers ask `allow()` before calling and report with
    `record_success()` / `record_failure()`. Thread-safe; `clock` is injectable for tests.
    """

    def __init__(
        self,
        failure_threshold: int = 5,
        reset_timeout: float = 30.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        name: str = "upstream",
    ):
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if reset_timeout < 0:
            raise ValueError("reset_timeout must not be negative")
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self.clock = clock
        self.name = name
        self._lock = threading.Lock()
        self._state = CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_started_at: float | None = None

    @property
    def state(self) -> str:
        with self._lock:
            if self._state == OPEN and self.clock() - self._opened_at >= self.reset_timeout:
                return HALF_OPEN
            return self._state

    def allow(self) -> bool:
        """May the caller try the service now? In half-open, True for one caller only."""
        with self._lock:
            if self._state == CLOSED:
                return True
            now = self.clock()
            if self._state == OPEN:
                if now - self._opened_at < self.reset_timeout:
                    return False
                self._state = HALF_OPEN
                self._trial_started_at = now
                return True
            # Half-open with a trial out. A trial whose caller never reported (it crashed) must not
            # wedge the circuit forever: after another cool-down, let a new trial through.
            if self._trial_started_at is not None and now - self._trial_started_at < self.reset_timeout:
                return False
            self._trial_started_at = now
            return True

    def record_success(self) -> None:
        with self._lock:
            if self._state != CLOSED:
                logger.info("circuit %s closed: the service answered again", self.name)
            self._state = CLOSED
            self._failures = 0
            self._trial_started_at = None

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._state == HALF_OPEN or (self._state == CLOSED and self._failures >= self.failure_threshold):
                self._state = OPEN
                self._opened_at = self.clock()
                self._trial_started_at = None
                logger.warning(
                    "circuit %s opened after %d consecutive failures; not calling it for %g s",
                    self.name,
                    self._failures,
                    self.reset_timeout,
                )

    def __repr__(self) -> str:
        return f"<CircuitBreaker {self.name} {self.state}>"


class UpstreamError(Exception):
    """The service gave no usable answer. The message is short and safe to log (no URL, no body)."""


def get_json(
    url: str,
    *,
    timeout: float,
    max_bytes: int = DEFAULT_MAX_BYTES,
    headers: Mapping[str, str] | None = None,
) -> Any:
    """GET `url` and decode its JSON body, taking at most `timeout` seconds in total.

    Raises UpstreamError for a timeout, a connection error, a status other than 200, a body larger
    than `max_bytes` or a body that is not JSON. Socket timeouts alone bound each read, not the
    exchange (a server dripping one byte at a time never trips them) and not name resolution, so the
    exchange runs on a daemon thread and the caller waits for it until the deadline; a late exchange
    is aborted by shutting its socket down, which wakes the thread's pending read.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected an http(s) URL, got {url!r}")
    exchange = _Exchange(parts, timeout, max_bytes, dict(headers or {}))
    thread = threading.Thread(target=exchange.run, name="tailor-http-get", daemon=True)
    thread.start()
    if not exchange.done.wait(timeout):
        exchange.abort()
        raise UpstreamError(f"no answer within {timeout * 1000:.0f} ms")
    if exchange.error is not None:
        raise exchange.error
    return exchange.result


class _Exchange:
    """One GET, run on its own thread; the caller reads `result` / `error` once `done` is set."""

    def __init__(self, parts: urllib.parse.SplitResult, timeout: float, max_bytes: int, headers: dict):
        self.parts = parts
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.headers = {"Accept": "application/json", "User-Agent": "wagtail-tailor", **headers}
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._aborted = False

    def run(self) -> None:
        try:
            self.result = self._get()
        except UpstreamError as exc:
            self.error = exc
        except TimeoutError:
            self.error = UpstreamError(f"no answer within {self.timeout * 1000:.0f} ms")
        except (OSError, http.client.HTTPException) as exc:
            self.error = UpstreamError(f"connection failed ({type(exc).__name__})")
        except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            self.error = UpstreamError("answer is not valid JSON")
        except BaseException as exc:  # noqa: BLE001 - a bug, not the upstream: the caller re-raises it
            self.error = exc
        finally:
            self.done.set()

    def abort(self) -> None:
        with self._lock:
            self._aborted = True
            sock = self._sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _get(self) -> Any:
        deadline = time.monotonic() + self.timeout
        parts = self.parts
        if parts.scheme == "https":
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                parts.hostname, parts.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=self.timeout)
        try:
            conn.connect()
            with self._lock:
                # The response may close the connection object early (conn.sock = None) while still
                # reading from the socket, so keep our own reference for timeouts and abort.
                self._sock = conn.sock
                if self._aborted:
                    raise UpstreamError("aborted")
            path = parts.path or "/"
            if parts.query:
                path = f"{path}?{parts.query}"
            conn.request("GET", path, headers=self.headers)
            self._set_timeout(deadline)
            response = conn.getresponse()
            if response.status != 200:
                raise UpstreamError(f"HTTP {response.status}")
            length = response.getheader("Content-Length")
            if length is not None and length.isdigit() and int(length) > self.max_bytes:
                raise UpstreamError(f"answer larger than {self.max_bytes} bytes")
            body = bytearray()
            while len(body) <= self.max_bytes:
                self._set_timeout(deadline)
                chunk = response.read1(min(16384, self.max_bytes + 1 - len(body)))
                if not chunk:
                    break
                body += chunk
            if len(body) > self.max_bytes:
                raise UpstreamError(f"answer larger than {self.max_bytes} bytes")
            with self._lock:
                if self._aborted:
                    raise UpstreamError("aborted")
            return json.loads(bytes(body))
        finally:
            conn.close()

    def _set_timeout(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        if self._sock is not None:
            self._sock.settimeout(remaining)
