"""Optional Prometheus /metrics and /healthz endpoint, on a registry of its own."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from daemon.config import MetricsConfig
from extractors.core.errors import ConfigError

log = logging.getLogger(__name__)

STATES = ("ok", "connecting", "error")
BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
UNHEALTHY_AFTER = 600.0


class Metrics:
    """Message, error and connection metrics of the daemon, with an HTTP server to expose them."""

    def __init__(self, *, unhealthy_after: float = UNHEALTHY_AFTER, clock: Callable[[], float] = time.monotonic) -> None:
        self.unhealthy_after = unhealthy_after
        self._clock = clock
        self._lock = threading.Lock()
        self._states: dict[str, tuple[str, float]] = {}  # mailbox -> (state, since)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        # prometheus_client (about 6 MB resident) is loaded only when metrics are switched on
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
        from prometheus_client.platform_collector import PlatformCollector
        from prometheus_client.process_collector import ProcessCollector

        self.registry = CollectorRegistry()
        reg = self.registry
        self._messages = Counter(
            "inquiry_triage_messages", "Messages processed, by action and status.", ["mailbox", "action", "status"], registry=reg
        )
        self._seconds = Histogram(
            "inquiry_triage_processing_seconds", "Time to process one message.", ["mailbox"], buckets=BUCKETS, registry=reg
        )
        self._errors = Counter("inquiry_triage_errors", "Errors, by kind.", ["mailbox", "kind"], registry=reg)
        self._state = Gauge(
            "inquiry_triage_connection_state", "1 for the mailbox's current connection state.", ["mailbox", "state"], registry=reg
        )
        self._healthy = Gauge(
            "inquiry_triage_mailbox_healthy", "1 while the mailbox makes progress, 0 when it cannot (see /healthz).",
            ["mailbox"], registry=reg,
        )
        self._backlog = Gauge("inquiry_triage_backlog", "Messages waiting in the mailbox.", ["mailbox"], registry=reg)
        self._store_up = Gauge("inquiry_triage_store_up", "1 while the store can be written, else 0.", registry=reg)
        self._owned = Gauge("inquiry_triage_mailboxes_owned", "Mailboxes this process owns (works on).", registry=reg)
        self._replicas = Gauge("inquiry_triage_replicas", "Live replicas sharing the mailboxes (1 on SQLite).",
                               registry=reg)
        self._store_up.set(1)
        self.health_source: Callable[[], tuple[bool, str]] | None = None  # the daemon's Health.verdict
        ProcessCollector(registry=reg)
        PlatformCollector(registry=reg)

    def message_done(self, mailbox: str, action: str, status: str, seconds: float) -> None:
        """Count one processed message and record how long it took."""
        self._messages.labels(mailbox, action, status).inc()
        self._seconds.labels(mailbox).observe(seconds)

    def error(self, mailbox: str, kind: str) -> None:
        """Count one error of the given kind (e.g. transient, message, config)."""
        self._errors.labels(mailbox, kind).inc()

    def connection(self, mailbox: str, state: str) -> None:
        """Set the mailbox's connection state (ok, connecting, error), remembering since when it holds."""
        if state not in STATES:
            raise ValueError(f"connection state must be one of {', '.join(STATES)}, not {state!r}")
        with self._lock:
            previous = self._states.get(mailbox)
            if previous is None or previous[0] != state:
                self._states[mailbox] = (state, self._clock())
            for s in STATES:
                self._state.labels(mailbox, s).set(1 if s == state else 0)

    def mailbox(self, mailbox: str, *, healthy: bool, backlog: int | None) -> None:
        """Set whether the mailbox makes progress, and its backlog when known."""
        self._healthy.labels(mailbox).set(1 if healthy else 0)
        if backlog is not None:
            self._backlog.labels(mailbox).set(backlog)

    def store_up(self, up: bool) -> None:
        """Set whether the store can be written."""
        self._store_up.set(1 if up else 0)

    def ownership(self, owned: int, replicas: int) -> None:
        """Set how many mailboxes this process owns and how many replicas share them."""
        self._owned.set(owned)
        self._replicas.set(replicas)

    def forget(self, mailbox: str) -> None:
        """Drop the gauges of a mailbox this process no longer owns (its new owner reports it)."""
        with self._lock:
            self._states.pop(mailbox, None)
        for gauge, labels in ((self._healthy, [(mailbox,)]), (self._backlog, [(mailbox,)]),
                              (self._state, [(mailbox, s) for s in STATES])):
            for values in labels:
                try:
                    gauge.remove(*values)
                except KeyError:
                    pass

    def health(self) -> tuple[bool, str]:
        """The daemon's verdict (health_source) when it gave one; else whether no mailbox has been in state error
        for longer than unhealthy_after, with a one-line reason."""
        if self.health_source is not None:
            return self.health_source()
        now = self._clock()
        with self._lock:
            states = sorted(self._states.items())
        bad = [f"{name} in state error for {now - since:.0f} s" for name, (state, since) in states
               if state == "error" and now - since > self.unhealthy_after]
        if bad:
            return False, f"unhealthy: mailbox {'; mailbox '.join(bad)} (limit {self.unhealthy_after:.0f} s)"
        return True, "ok"

    def serve(self, host: str, port: int) -> None:
        """Serve /metrics and /healthz on host:port from a daemon thread (port 0 picks a free port)."""
        if self._server is not None:
            raise RuntimeError("the metrics server is already running")
        handler = type("BoundHandler", (_Handler,), {"metrics": self})
        server_class = _Server6 if ":" in host else _Server
        try:
            server = server_class((host, port), handler)
        except OSError as e:
            raise ConfigError(f"[metrics] cannot listen on {host}:{port}: {e.strerror}; change [metrics] host or port") from e
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="metrics-http", daemon=True
        )
        self._thread.start()
        log.info("Metrics: http://%s:%d/metrics and /healthz", host, self.address[1])

    @property
    def address(self) -> tuple[str, int]:
        """The host and port the server listens on."""
        if self._server is None:
            raise RuntimeError("the metrics server is not running")
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def stop(self) -> None:
        """Stop the HTTP server and free its port; harmless when it is not running."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)


class NullMetrics(Metrics):
    """Metrics switched off: every call does nothing."""

    def __init__(self) -> None:
        self._server = None
        self._thread = None
        self.health_source = None

    def message_done(self, mailbox: str, action: str, status: str, seconds: float) -> None:
        """Do nothing."""

    def error(self, mailbox: str, kind: str) -> None:
        """Do nothing."""

    def connection(self, mailbox: str, state: str) -> None:
        """Do nothing."""

    def mailbox(self, mailbox: str, *, healthy: bool, backlog: int | None) -> None:
        """Do nothing."""

    def store_up(self, up: bool) -> None:
        """Do nothing."""

    def forget(self, mailbox: str) -> None:
        """Do nothing."""

    def ownership(self, owned: int, replicas: int) -> None:
        """Do nothing."""

    def health(self) -> tuple[bool, str]:
        """Always healthy."""
        return True, "ok"

    def serve(self, host: str, port: int) -> None:
        """Do nothing."""


NULL_METRICS = NullMetrics()


def start_metrics(cfg: MetricsConfig) -> Metrics:
    """Return NULL_METRICS when [metrics] is off, else a Metrics already serving on the configured address."""
    if not cfg.enabled:
        return NULL_METRICS
    metrics = Metrics()
    metrics.serve(cfg.host, cfg.port)
    return metrics


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    """Answer GET /metrics (text exposition) and GET /healthz (200 ok or 503 with a reason)."""

    metrics: Metrics
    server_version = "inquiry-triage-metrics"

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

            self._send(200, generate_latest(self.metrics.registry), CONTENT_TYPE_LATEST)
        elif path == "/healthz":
            ok, reason = self.metrics.health()
            self._send(200 if ok else 503, f"{reason.rstrip()}\n".encode())
        else:
            self._send(404, b"not found; try /metrics or /healthz\n")

    def _send(self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("metrics: %s " + format, self.address_string(), *args)
