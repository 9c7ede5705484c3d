"""Slow clients cost a connection, not the service: 20 uploads trickling at 1 byte/s (bounded:
loopback only, a few seconds) while normal uploads keep being answered in time, and each slow
one is refused with 408 once it passes the upload time limit."""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urlparse

import httpx
import pytest

from scancci.serve import create_app
from tests.serve.test_app_limits import jpeg_bytes

pytestmark = pytest.mark.slow
SLOW_CLIENTS = 20
UPLOAD_TIMEOUT_S = 4.0
TRICKLE_S = 6.0  # longer than the upload limit: each slow client must be cut off
ANSWER_WITHIN_S = 2.0


def trickle(url: str, results: list[str], stop: threading.Event) -> None:
    """Send a request head announcing a 100 kB image, then one byte a second; keep what the
    server answers (its status line), if anything."""
    address = urlparse(url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(b"POST /predict HTTP/1.1\r\nHost: test\r\nContent-Type: image/jpeg\r\n"
                     b"Content-Length: 100000\r\n\r\n")
        sock.settimeout(1.0)
        answer = b""
        deadline = time.monotonic() + TRICKLE_S
        while time.monotonic() < deadline and not stop.is_set() and not answer:
            try:
                sock.sendall(b"\xff")
                answer = sock.recv(200)
            except TimeoutError:
                continue  # nothing yet: one more byte
            except OSError:
                break  # the server closed the connection
        results.append(answer.split(b"\r\n", 1)[0].decode("latin-1"))


def test_twenty_slow_uploads_leave_the_service_answering(fake_predictor, serve_on_loopback
                                                         ) -> None:
    app = create_app(fake_predictor(), max_concurrency=2, max_queue=2, read_timeout_s=3,
                     upload_timeout_s=UPLOAD_TIMEOUT_S)
    results: list[str] = []
    stop = threading.Event()
    with serve_on_loopback(app) as url:
        threads = [threading.Thread(target=trickle, args=(url, results, stop), daemon=True)
                   for _ in range(SLOW_CLIENTS)]
        for thread in threads:
            thread.start()
        time.sleep(1.0)  # every slow client is connected and trickling
        timings = []
        with httpx.Client(base_url=url, timeout=10) as http:
            for _ in range(6):
                start = time.monotonic()
                response = http.post("/predict", content=jpeg_bytes(),
                                     headers={"content-type": "image/jpeg"})
                timings.append((response.status_code, time.monotonic() - start))
                time.sleep(0.3)
        for thread in threads:
            thread.join(timeout=TRICKLE_S + 5)
        stop.set()
    assert all(status == 200 for status, _ in timings), timings
    assert max(seconds for _, seconds in timings) < ANSWER_WITHIN_S, timings
    assert len(results) == SLOW_CLIENTS
    assert all(" 408 " in line for line in results), results  # cut off, never given a slot
