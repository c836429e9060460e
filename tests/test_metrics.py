"""The Prometheus endpoint over real HTTP on loopback: /metrics text, /healthz, start and stop."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from daemon.config import Config, MetricsConfig, load
from daemon.metrics import NULL_METRICS, Metrics, start_metrics
from extractors.core.errors import ConfigError

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Clock:
    """A hand-driven monotonic clock."""

    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


def get(metrics: Metrics, path: str) -> tuple[int, str, str]:
    """GET a path from the metrics server; return status, body and content type."""
    host, port = metrics.address
    try:
        with _OPENER.open(f"http://{host}:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode(), r.headers["Content-Type"]
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), e.headers["Content-Type"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def metrics(clock: Clock) -> Iterator[Metrics]:
    m = Metrics(unhealthy_after=600, clock=clock)
    m.serve("127.0.0.1", 0)
    try:
        yield m
    finally:
        m.stop()


def test_counters_appear_in_the_exposition(metrics: Metrics) -> None:
    metrics.message_done("sales", "precise_quote", "drafted", 0.2)
    metrics.message_done("sales", "precise_quote", "drafted", 0.3)
    metrics.message_done("sales", "none", "skipped", 0.01)
    metrics.error("sales", "transient")
    status, text, content_type = get(metrics, "/metrics")
    assert status == 200 and content_type.startswith("text/plain; version=")
    lines = text.splitlines()
    for expected in [
        'inquiry_triage_messages_total{action="precise_quote",mailbox="sales",status="drafted"} 2.0',
        'inquiry_triage_messages_total{action="none",mailbox="sales",status="skipped"} 1.0',
        'inquiry_triage_errors_total{kind="transient",mailbox="sales"} 1.0',
        "# TYPE inquiry_triage_processing_seconds histogram",
    ]:
        assert expected in lines, expected
    assert any(line.startswith("process_resident_memory_bytes ") for line in lines)


def test_histogram_buckets(metrics: Metrics) -> None:
    metrics.message_done("ops", "ask", "drafted", 0.03)
    metrics.message_done("ops", "ask", "drafted", 2.0)
    lines = get(metrics, "/metrics")[1].splitlines()
    for expected in [
        'inquiry_triage_processing_seconds_bucket{le="0.025",mailbox="ops"} 0.0',
        'inquiry_triage_processing_seconds_bucket{le="0.05",mailbox="ops"} 1.0',
        'inquiry_triage_processing_seconds_bucket{le="2.5",mailbox="ops"} 2.0',
        'inquiry_triage_processing_seconds_bucket{le="+Inf",mailbox="ops"} 2.0',
        'inquiry_triage_processing_seconds_count{mailbox="ops"} 2.0',
        'inquiry_triage_processing_seconds_sum{mailbox="ops"} 2.03',
    ]:
        assert expected in lines, expected


def test_connection_state_gauge_is_one_hot(metrics: Metrics) -> None:
    metrics.connection("sales", "connecting")
    metrics.connection("sales", "ok")
    lines = get(metrics, "/metrics")[1].splitlines()
    assert 'inquiry_triage_connection_state{mailbox="sales",state="ok"} 1.0' in lines
    assert 'inquiry_triage_connection_state{mailbox="sales",state="connecting"} 0.0' in lines
    assert 'inquiry_triage_connection_state{mailbox="sales",state="error"} 0.0' in lines
    with pytest.raises(ValueError, match="one of ok, connecting, error"):
        metrics.connection("sales", "down")


def test_healthz_turns_503_after_a_long_error_state(metrics: Metrics, clock: Clock) -> None:
    assert get(metrics, "/healthz")[:2] == (200, "ok\n")
    metrics.connection("sales", "ok")
    metrics.connection("ops", "error")
    clock.now += 300
    metrics.connection("ops", "error")  # still in error: the clock keeps running from the first report
    clock.now += 300
    assert get(metrics, "/healthz")[0] == 200  # 600 s: not longer than unhealthy_after
    clock.now += 1
    status, body, _ = get(metrics, "/healthz")
    assert (status, body) == (503, "unhealthy: mailbox ops in state error for 601 s (limit 600 s)\n")
    metrics.connection("ops", "connecting")
    assert get(metrics, "/healthz")[:2] == (200, "ok\n")


def test_unknown_path_is_404(metrics: Metrics) -> None:
    assert get(metrics, "/")[0] == 404


def test_stop_frees_the_port(clock: Clock) -> None:
    m = Metrics(clock=clock)
    m.serve("127.0.0.1", 0)
    port = m.address[1]
    assert get(m, "/healthz")[0] == 200
    m.stop()
    m.stop()  # harmless twice
    with socket.socket() as s:  # the port is free again (SO_REUSEADDR: the closed connection may be in TIME_WAIT)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen()
    again = Metrics(clock=clock)
    again.serve("127.0.0.1", port)
    try:
        assert get(again, "/healthz")[0] == 200
    finally:
        again.stop()


def test_port_in_use_is_a_config_error(metrics: Metrics) -> None:
    with pytest.raises(ConfigError, match=r"cannot listen on 127\.0\.0\.1:\d+.*change \[metrics\] host or port"):
        Metrics().serve("127.0.0.1", metrics.address[1])


def test_each_instance_has_its_own_registry() -> None:
    a, b = Metrics(), Metrics()  # the global registry would refuse the second set of metric names
    a.error("x", "config")
    assert b.registry.get_sample_value("inquiry_triage_errors_total", {"mailbox": "x", "kind": "config"}) is None
    assert a.registry.get_sample_value("inquiry_triage_errors_total", {"mailbox": "x", "kind": "config"}) == 1.0


def test_null_metrics_does_nothing() -> None:
    NULL_METRICS.message_done("sales", "none", "skipped", 0.1)
    NULL_METRICS.error("sales", "transient")
    NULL_METRICS.connection("sales", "error")
    NULL_METRICS.serve("127.0.0.1", 1)
    NULL_METRICS.stop()
    assert NULL_METRICS.health() == (True, "ok")


def test_start_metrics_follows_the_config() -> None:
    assert start_metrics(MetricsConfig()) is NULL_METRICS
    m = start_metrics(MetricsConfig(enabled=True, port=free_port()))
    try:
        assert m is not NULL_METRICS and get(m, "/metrics")[0] == 200
    finally:
        m.stop()


def test_metrics_config(tmp_path: Path) -> None:
    assert Config().metrics == MetricsConfig(enabled=False, host="127.0.0.1", port=9464)
    for port in (0, 65536):
        with pytest.raises(ValidationError):
            MetricsConfig(port=port)
    path = tmp_path / "c.toml"
    path.write_text('[metrics]\nenabled = true\nport = 9100\n', encoding="utf-8")
    assert load(path).metrics == MetricsConfig(enabled=True, port=9100)
    path.write_text('[metrics]\nenable = true\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"metrics\.enable.*Extra inputs are not permitted"):
        load(path)
