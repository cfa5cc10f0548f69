"""Calling a third-party service from a request: a pooled HTTP client with a hard total deadline, and
a circuit breaker (pybreaker) that keeps a failing service off the request path.

Plain Python (no Django), shared by the providers (weather, geo, ...). A provider must never make a
page slower than its budget nor raise because a third party is down: it answers "unknown" instead.

The deadline. urllib3's timeouts bound each socket operation, not an exchange: a server dripping one
byte at a time never trips them. The connections of `JsonClient`'s pools therefore use sockets that,
before every send, receive and TLS handshake, set their timeout to what is left of the current call's
budget (a context variable) and fail once it is spent. That bounds the status line and headers as
well as the body, costs no thread, and leaves connections pooled (keep-alive) between calls. Name
resolution is not bounded (getaddrinfo cannot be interrupted without a thread); a pooled connection
pays it once, not per call.

The breaker. pybreaker's `CircuitBreaker.call()` holds the breaker's lock while the guarded function
runs, so every caller of one breaker waits for the others (pybreaker issue #55): a shared upstream
breaker would stack 0.3 s deadlines. `Circuit` calls through `breaker.calling()` instead, which takes
the lock only for the state transitions, and lets a single trial call through while the circuit is
not closed (the other callers are turned away at once, as when it is open).
"""

from __future__ import annotations

import contextvars
import json
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import pybreaker
import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import TimeoutError as Urllib3TimeoutError
from urllib3.util.ssl_ import create_urllib3_context

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_MAX_BYTES = 64 * 1024

# The monotonic time by which the current call must be over; None outside JsonClient.get_json.
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("tailor_upstream_deadline", default=None)


class UpstreamError(Exception):
    """The service gave no usable answer. The message is short and safe to log (no URL, no body)."""


# -- the deadline ----------------------------------------------------------------------------------


class _DeadlineMixin:
    """Sets the socket timeout to the time left before each blocking operation."""

    __slots__ = ()

    def _arm(self) -> None:
        deadline = _deadline.get()
        if deadline is None:
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("deadline exceeded")
        self.settimeout(remaining)  # type: ignore[attr-defined]

    def recv(self, *args: Any, **kwargs: Any) -> bytes:
        self._arm()
        return super().recv(*args, **kwargs)  # type: ignore[misc]

    def recv_into(self, *args: Any, **kwargs: Any) -> int:
        self._arm()
        return super().recv_into(*args, **kwargs)  # type: ignore[misc]

    def send(self, *args: Any, **kwargs: Any) -> int:
        self._arm()
        return super().send(*args, **kwargs)  # type: ignore[misc]

    def sendall(self, *args: Any, **kwargs: Any) -> None:
        self._arm()
        return super().sendall(*args, **kwargs)  # type: ignore[misc]


class _DeadlineSocket(_DeadlineMixin, socket.socket):
    __slots__ = ()


class _DeadlineSSLSocket(_DeadlineMixin, ssl.SSLSocket):
    # Every read and write of a TLS socket goes through recv_into/sendall; the handshake too needs it.
    def do_handshake(self, *args: Any, **kwargs: Any) -> None:
        self._arm()
        super().do_handshake(*args, **kwargs)


def _deadline_socket(sock: socket.socket) -> socket.socket:
    """The connected socket `sock`, as a _DeadlineSocket (same file descriptor and timeout)."""
    timeout = sock.gettimeout()
    converted = _DeadlineSocket(sock.family, sock.type, sock.proto, fileno=sock.detach())
    converted.settimeout(timeout)
    return converted


class _HTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _deadline_socket(super()._new_conn())


class _HTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        # TLS then wraps it in the context's sslsocket_class, a _DeadlineSSLSocket (see JsonClient).
        return _deadline_socket(super()._new_conn())


class _HTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class JsonClient:
    """GETs JSON over pooled keep-alive connections (urllib3), each call bounded by a total deadline.

    Thread-safe; one client per upstream is enough. `ca_certs` replaces the system's trusted CAs
    (tests use it for a local TLS server).
    """

    def __init__(
        self,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        maxsize: int = 10,
        headers: Mapping[str, str] | None = None,
        ca_certs: str | None = None,
    ):
        if max_bytes < 1:
            raise ValueError("max_bytes must be at least 1")
        self.max_bytes = max_bytes
        context = create_urllib3_context()
        if ca_certs is None:
            context.load_default_certs()
        else:
            context.load_verify_locations(cafile=ca_certs)
        context.sslsocket_class = _DeadlineSSLSocket
        self._pools = urllib3.PoolManager(
            num_pools=4,
            maxsize=maxsize,  # idle connections kept per host; busier moments open (and drop) more
            block=False,
            retries=False,
            headers={"Accept": "application/json", "User-Agent": "wagtail-tailor", **(headers or {})},
            ssl_context=context,
        )
        self._pools.pool_classes_by_scheme = {"http": _HTTPConnectionPool, "https": _HTTPSConnectionPool}

    def get_json(self, url: str, *, timeout: float) -> Any:
        """GET `url` and decode its JSON body, taking at most `timeout` seconds in total.

        Raises UpstreamError for a timeout, a connection error, a status other than 200, a body larger
        than `max_bytes` or a body that is not JSON.
        """
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"expected an http(s) URL, got {url!r}")
        token = _deadline.set(time.monotonic() + timeout)
        try:
            return self._get_json(url, timeout)
        except (Urllib3Error, OSError) as exc:
            if _timed_out(exc):
                raise UpstreamError(f"no answer within {timeout * 1000:.0f} ms") from None
            raise UpstreamError(f"connection failed ({type(exc).__name__})") from None
        finally:
            _deadline.reset(token)

    def _get_json(self, url: str, timeout: float) -> Any:
        response = self._pools.request(
            "GET",
            url,
            preload_content=False,
            redirect=False,
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
        )
        reusable = False
        try:
            if response.status != 200:
                raise UpstreamError(f"HTTP {response.status}")
            length = response.headers.get("Content-Length")
            if length is not None and length.isdigit() and int(length) > self.max_bytes:
                raise UpstreamError(f"answer larger than {self.max_bytes} bytes")
            body = response.read(self.max_bytes + 1)
            if len(body) > self.max_bytes:
                raise UpstreamError(f"answer larger than {self.max_bytes} bytes")
            reusable = True
        finally:
            if not reusable:  # unread or bad bytes left on the wire: this connection is not reused
                response.close()
            response.release_conn()
        try:
            return json.loads(body)
        except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            raise UpstreamError("answer is not valid JSON") from None

    def close(self) -> None:
        """Close the pooled connections (the client stays usable: it reconnects)."""
        self._pools.clear()


def _timed_out(exc: BaseException) -> bool:
    """Is `exc` (or what it wraps: urllib3 wraps socket errors) a timeout?"""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, (TimeoutError, Urllib3TimeoutError)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


# -- the breaker -----------------------------------------------------------------------------------


class _LogStateChanges(pybreaker.CircuitBreakerListener):
    def state_change(self, cb: pybreaker.CircuitBreaker, old_state: Any, new_state: Any) -> None:
        if new_state.name == pybreaker.STATE_OPEN:
            logger.warning("circuit %s opened: not calling it for %g s", cb.name, cb.reset_timeout)
        elif new_state.name == pybreaker.STATE_CLOSED and old_state is not None:
            logger.info("circuit %s closed: the service answered again", cb.name)


def circuit_breaker(
    name: str,
    fail_max: int = 5,
    reset_timeout: float = 30.0,
    *,
    exclude: tuple[type[BaseException], ...] = (),
) -> pybreaker.CircuitBreaker:
    """A pybreaker breaker that opens after `fail_max` consecutive failures for `reset_timeout` s, logs
    its state changes, and lets the failure that opens it propagate as itself. Exceptions in `exclude`
    are the caller's business, not the service failing: they do not count."""
    if fail_max < 1:
        raise ValueError("fail_max must be at least 1")
    if reset_timeout < 0:
        raise ValueError("reset_timeout must not be negative")
    return pybreaker.CircuitBreaker(
        fail_max=fail_max,
        reset_timeout=reset_timeout,
        name=name,
        exclude=list(exclude),
        listeners=[_LogStateChanges()],
        throw_new_error_on_trip=False,
    )


class Circuit:
    """Calls a function through a pybreaker breaker without serializing the callers.

    Closed: every caller runs, concurrently. Open: callers get `pybreaker.CircuitBreakerError` at once.
    Half-open (once `reset_timeout` has passed): one caller runs the trial, the others get
    CircuitBreakerError until it ends; its success closes the circuit, its failure opens it again.
    A trial always reports back (the call sits in a `with`), so it cannot wedge the circuit.
    """

    def __init__(self, breaker: pybreaker.CircuitBreaker):
        self.breaker = breaker
        self._trial = threading.Lock()

    @property
    def state(self) -> str:
        """'closed', 'open' or 'half-open' (pybreaker's names)."""
        return self.breaker.current_state

    def call(self, fn: Callable[[], T]) -> T:
        """`fn()`, or CircuitBreakerError when the circuit turns the call away. A failure of `fn`
        propagates as itself, the one that opens the circuit included."""
        failure: BaseException | None = None

        def run() -> T:
            nonlocal failure
            try:
                return fn()
            except BaseException as exc:
                failure = exc
                raise

        try:
            if self.breaker.current_state == pybreaker.STATE_CLOSED:
                with self.breaker.calling():
                    return run()
            if not self._trial.acquire(blocking=False):
                raise pybreaker.CircuitBreakerError("a trial call is under way")
            try:
                with self.breaker.calling():
                    return run()
            finally:
                self._trial.release()
        except pybreaker.CircuitBreakerError:
            # A breaker built with pybreaker's default throw_new_error_on_trip replaces the failure
            # that opens it with a CircuitBreakerError.
            if failure is not None:
                raise failure from None
            raise
