"""A real HTTP server on 127.0.0.1 that answers like Open-Meteo's forecast endpoint, and misbehaves on demand.

    with FakeOpenMeteo() as server:
        provider = OpenMeteoProvider(server.base_url)
        server.mode = "slow"

Modes: ``normal`` (the answer, after `delay` seconds if set), ``slow`` (sleeps `delay`, default 2 s,
then answers), ``drip`` (sends the whole response, headers included, a byte every `drip_interval` seconds),
``drip_body`` (the headers at once, then the body a byte every `drip_interval` seconds), ``error`` (HTTP 500), ``malformed`` (200, not JSON), ``missing`` (200, JSON without
``current.weather_code``), ``huge`` (200, a valid JSON body padded by `huge_bytes`, with or without
a Content-Length as `declare_length` says). Requests with missing
or invalid coordinates get Open-Meteo's 400 answer. Every request is recorded in `requests`, and
`connection_count` counts the TCP connections accepted (keep-alive reuses one for many requests).

``FakeOpenMeteo(tls=(certfile, keyfile))`` speaks HTTPS instead (`base_url` then starts with https).
"""

from __future__ import annotations

import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import parse_qs, urlsplit

MODES = ("normal", "slow", "drip", "drip_body", "error", "malformed", "missing", "huge")


class FakeOpenMeteo:
    def __init__(
        self,
        *,
        mode: str = "normal",
        weather_code: int = 61,
        temperature: float = 3.4,
        is_day: int = 1,
        time: str = "2026-11-30T08:00",
        delay: float | None = None,
        drip_interval: float = 0.05,
        huge_bytes: int = 1024 * 1024,
        declare_length: bool = True,
        tls: tuple[str, str] | None = None,
    ):
        self.mode = mode
        self.weather_code = weather_code
        self.temperature = temperature
        self.is_day = is_day
        self.time = time
        self.delay = delay
        self.drip_interval = drip_interval
        self.huge_bytes = huge_bytes
        self.declare_length = declare_length
        self.tls = tls
        self.requests: list[dict[str, str]] = []
        self.connection_count = 0
        self.in_flight = 0
        self.most_in_flight = 0  # the most requests that were being answered at the same moment
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in MODES:
            raise ValueError(f"unknown mode {value!r}; use one of {', '.join(MODES)}")
        self._mode = value

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self.requests)

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the server first"
        host, port = self._server.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host}:{port}"

    def start(self) -> Self:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True  # a handler still sleeping must not hold up stop()
        if self.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            # The handshake runs on the handler's thread (in setup), not in the accepting loop.
            server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes sleeping handlers
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def sleep(self, seconds: float) -> bool:
        """Sleep unless the server stops first; False when it stopped."""
        return not self._stopping.wait(seconds)

    def record(self, query: dict[str, str]) -> None:
        with self._lock:
            self.requests.append(query)

    def delaying(self, seconds: float) -> bool:
        """Hold a request for `seconds`, counting how many are held at once; False when the server stopped."""
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            return self.sleep(seconds)
        finally:
            with self._lock:
                self.in_flight -= 1

    def connected(self) -> None:
        with self._lock:
            self.connection_count += 1

    def answer(self, latitude: float, longitude: float) -> dict:
        return {
            # Open-Meteo snaps to its own grid and echoes the point it used.
            "latitude": round(latitude * 20) / 20,
            "longitude": round(longitude * 20) / 20,
            "generationtime_ms": 0.02,
            "utc_offset_seconds": 0,
            "timezone": "GMT",
            "timezone_abbreviation": "GMT",
            "elevation": 38.0,
            "current_units": {
                "time": "iso8601",
                "interval": "seconds",
                "temperature_2m": "°C",
                "weather_code": "wmo code",
                "is_day": "",
            },
            "current": {
                "time": self.time,
                "interval": 900,
                "temperature_2m": self.temperature,
                "weather_code": self.weather_code,
                "is_day": self.is_day,
            },
        }


def _handler_for(fake: FakeOpenMeteo) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # As real servers do: with Nagle on, the body (a second small write) waits for the client's
        # delayed ACK of the headers, 40 ms on Linux, on every request of a kept-alive connection.
        disable_nagle_algorithm = True

        def log_message(self, format, *args):  # keep test output quiet
            pass

        def do_GET(self):
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            fake.record(query)
            if url.path != "/v1/forecast":
                return self.send_json(404, {"error": True, "reason": "Not Found"})
            try:
                latitude, longitude = float(query["latitude"]), float(query["longitude"])
                if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
                    raise ValueError
            except (KeyError, ValueError):
                return self.send_json(400, {"error": True, "reason": "Latitude must be in range of -90 to 90°."})

            mode = fake.mode
            delay = fake.delay if fake.delay is not None else (2.0 if mode == "slow" else 0.0)
            if delay and not fake.delaying(delay):
                return
            if mode in ("normal", "slow"):
                self.send_json(200, fake.answer(latitude, longitude))
            elif mode == "error":
                self.send_json(500, {"error": True, "reason": "Internal Server Error"})
            elif mode == "malformed":
                self.send_body(200, b'{"latitude": 37.55, "current": {"weather_code": 6')
            elif mode == "missing":
                answer = fake.answer(latitude, longitude)
                del answer["current"]["weather_code"]
                self.send_json(200, answer)
            elif mode == "huge":
                body = json.dumps(fake.answer(latitude, longitude)).encode() + b" " * fake.huge_bytes
                if fake.declare_length:
                    self.send_body(200, body)
                else:  # no Content-Length: the body runs until the connection closes
                    self.close_connection = True
                    self.send_head(200, None)
                    self.wfile.write(body)
            elif mode in ("drip", "drip_body"):
                # One byte at a time: each read succeeds quickly, so only a deadline on the whole
                # exchange ends it. `drip` drips the status line and headers too.
                body = json.dumps(fake.answer(latitude, longitude)).encode()
                head = (
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n"
                ).encode()
                if mode == "drip_body":
                    self.wfile.write(head)
                    self.wfile.flush()
                response = head + body if mode == "drip" else body
                for i in range(len(response)):
                    if not fake.sleep(fake.drip_interval):
                        return
                    self.wfile.write(response[i : i + 1])
                    self.wfile.flush()

        def send_json(self, status: int, data: dict) -> None:
            self.send_body(status, json.dumps(data).encode())

        def send_body(self, status: int, body: bytes) -> None:
            self.send_head(status, len(body))
            self.wfile.write(body)

        def send_head(self, status: int, length: int | None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            if length is None:
                self.send_header("Connection", "close")
            else:
                self.send_header("Content-Length", str(length))
            self.end_headers()
            self.wfile.flush()

        def setup(self):
            fake.connected()
            if fake.tls:
                self.request.settimeout(5)
                self.request.do_handshake()
            super().setup()

        def handle(self):
            try:
                super().handle()
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError, TimeoutError):  # the client gave up
                pass

    return Handler
