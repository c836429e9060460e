"""The daemon's waiting loop: sockets and timers in one thread, callbacks on the workers, each wait firing once."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from daemon.loop import READY, TIMEOUT, Loop


@pytest.fixture
def loop() -> Iterator[Loop]:
    loop = Loop(workers=2)
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    yield loop
    loop.stop()
    thread.join(5)
    loop.shutdown()


class Heard:
    def __init__(self) -> None:
        self.reasons: list[tuple[str, str, float]] = []
        self.event = threading.Event()
        self.lock = threading.Lock()

    def __call__(self, name: str, want: int = 1):  # noqa: ANN204
        def callback(reason: str) -> None:
            with self.lock:
                self.reasons.append((name, reason, time.monotonic()))
                if len(self.reasons) >= want:
                    self.event.set()
        return callback


def test_timers_fire_in_order_of_their_deadlines(loop: Loop) -> None:
    heard = Heard()
    started = time.monotonic()
    for name, delay in (("c", 0.3), ("a", 0.1), ("b", 0.2)):
        loop.wait(heard(name, 3), delay=delay)
    assert heard.event.wait(5)
    assert [(n, r) for n, r, _ in heard.reasons] == [("a", TIMEOUT), ("b", TIMEOUT), ("c", TIMEOUT)]
    assert heard.reasons[0][2] - started >= 0.09


def test_a_readable_socket_fires_its_wait_before_the_deadline(loop: Loop) -> None:
    heard = Heard()
    a, b = socket.socketpair()
    with a, b:
        loop.wait(heard("sock"), fd=a.fileno(), delay=30)
        time.sleep(0.1)
        b.send(b"x")
        assert heard.event.wait(5)
    assert [(n, r) for n, r, _ in heard.reasons] == [("sock", READY)]


def test_a_wait_fires_once_whatever_comes_first(loop: Loop) -> None:
    heard = Heard()
    a, b = socket.socketpair()
    with a, b:
        waiting = loop.wait(heard("w"), fd=a.fileno(), delay=0.05)
        time.sleep(0.3)
        b.send(b"x")  # after the timeout: no second call
        loop.fire(waiting, "stop")
        time.sleep(0.3)
    assert [r for _, r, _ in heard.reasons] == [TIMEOUT]


def test_fire_ends_a_wait_at_once_with_its_reason(loop: Loop) -> None:
    heard = Heard()
    a, b = socket.socketpair()
    with a, b:
        waiting = loop.wait(heard("w"), fd=a.fileno(), delay=60)
        loop.fire(waiting, "stop")
        assert heard.event.wait(5)
        b.send(b"x")  # no longer watched
        time.sleep(0.2)
    assert [r for _, r, _ in heard.reasons] == ["stop"]


def test_the_same_socket_can_be_watched_again_after_it_fired(loop: Loop) -> None:
    heard = Heard()
    a, b = socket.socketpair()
    with a, b:
        loop.wait(heard("first"), fd=a.fileno())
        b.send(b"x")
        assert heard.event.wait(5)
        a.recv(1)
        heard.event.clear()
        loop.wait(heard("second", 2), fd=a.fileno())
        b.send(b"y")
        assert heard.event.wait(5)
    assert [n for n, _, _ in heard.reasons] == ["first", "second"]


def test_a_failing_callback_is_logged_and_the_loop_goes_on(loop: Loop, caplog: pytest.LogCaptureFixture) -> None:
    heard = Heard()

    def broken(_reason: str) -> None:
        raise RuntimeError("boom")

    loop.wait(broken, delay=0)
    loop.wait(heard("after"), delay=0.1)
    assert heard.event.wait(5)
    assert "unexpected error" in caplog.text and "boom" in caplog.text


def test_many_sockets_one_thread() -> None:
    loop = Loop(workers=4)
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    pairs = [socket.socketpair() for _ in range(300)]
    heard = Heard()
    try:
        for i, (a, _b) in enumerate(pairs):
            loop.wait(heard(str(i), len(pairs)), fd=a.fileno(), delay=60)
        before = threading.active_count()
        for _a, b in pairs:
            b.send(b"x")
        assert heard.event.wait(10)
        assert sorted(int(n) for n, _, _ in heard.reasons) == list(range(len(pairs)))
        assert threading.active_count() <= before + 4  # the workers, not a thread per socket
    finally:
        loop.stop()
        thread.join(5)
        loop.shutdown()
        for a, b in pairs:
            a.close()
            b.close()
