"""Endpoints, bad input and limits of the service, with a stand-in predictor (no model)."""

from __future__ import annotations

import asyncio
import io
import struct
import zlib

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from scancci.errors import InvalidInputError
from scancci.serve import ServeLimits, create_app


def jpeg_bytes(size: tuple[int, int] = (64, 48), *, noise: bool = False) -> bytes:
    buffer = io.BytesIO()
    if noise:
        pixels = np.random.default_rng(0).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
        image = Image.fromarray(pixels)
    else:
        image = Image.new("RGB", size, (120, 80, 60))
    image.save(buffer, format="JPEG")
    return buffer.getvalue()


TRUNCATED = jpeg_bytes((200, 200), noise=True)[:8000]


@pytest.fixture()
def client(fake_predictor) -> TestClient:
    app = create_app(fake_predictor(), max_upload_bytes=200_000, max_pixels=1_000_000)
    return TestClient(app)


def test_health_info_and_page(client: TestClient) -> None:
    assert client.get("/health").json()["status"] == "ok"
    info = client.get("/info").json()
    assert info["classes"] == ["neutral", "happy", "sad"]
    assert info["limits"]["max_upload_bytes"] == 200_000
    assert info["version"]
    page = client.get("/")
    assert page.status_code == 200 and "<title>scancci" in page.text
    assert client.get("/static/app.js").status_code == 200


def test_predict_multipart_and_raw_body(client: TestClient) -> None:
    data = jpeg_bytes((80, 40))
    result = client.post("/predict", files={"file": ("a.jpg", data, "image/jpeg")}).json()
    assert (result["width"], result["height"]) == (80, 40)
    face = result["faces"][0]
    assert face["label"] == "happy" and face["prob_happy"] == 0.7
    assert [face[k] for k in ("x1", "y1", "x2", "y2")] == [20.0, 10.0, 60.0, 30.0]
    assert result["model"]["name"] == "fake"
    raw = client.post("/predict", content=data, headers={"content-type": "image/jpeg"})
    assert raw.status_code == 200 and raw.json()["width"] == 80


@pytest.mark.parametrize(
    ("files", "content", "headers", "status", "words"),
    [
        ({"file": ("a.jpg", b"", "image/jpeg")}, None, None, 400, "empty"),
        ({"file": ("a.txt", b"hello, not an image", "text/plain")}, None, None, 400, "not a readable"),
        ({"file": ("a.jpg", TRUNCATED, "image/jpeg")}, None, None, 400, "could not be decoded"),
        ({"other": ("a.jpg", jpeg_bytes(), "image/jpeg")}, None, None, 400, "field named 'file'"),
        (None, b'{"image": 1}', {"content-type": "application/json"}, 415, "content type"),
        (None, b"", {"content-type": "image/png"}, 400, "empty"),
        (None, b"\0" * 300_000, {"content-type": "image/jpeg"}, 413, "limit of 200,000 bytes"),
        ({"file": ("a.jpg", b"\0" * 200_001, "image/jpeg")}, None, None, 413,
         "limit of 200,000 bytes"),
    ],
)
def test_bad_uploads_get_clear_4xx(client: TestClient, files, content, headers, status,
                                   words) -> None:
    response = client.post("/predict", files=files, content=content, headers=headers)
    assert response.status_code == status, response.text
    assert words in response.json()["error"]
    assert client.get("/health").status_code == 200  # still serving


def test_enormous_image_is_refused_before_decoding(client: TestClient) -> None:
    buffer = io.BytesIO()
    Image.new("L", (2000, 1000)).save(buffer, format="PNG")  # 2 Mpx, compresses to a few KB
    response = client.post("/predict", files={"file": ("big.png", buffer.getvalue(), "image/png")})
    assert response.status_code == 413
    assert "2000x1000" in response.json()["error"]


async def _overload_scenario(predictor) -> tuple[list[int], list[int], int, int]:
    app = create_app(predictor, max_concurrency=2, max_queue=0, timeout_s=20)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        def post() -> asyncio.Task:
            return asyncio.create_task(http.post(
                "/predict", files={"file": ("a.jpg", jpeg_bytes(), "image/jpeg")}))
        busy = [post(), post()]
        for _ in range(2):  # both inside the predictor
            await asyncio.to_thread(predictor.entered.acquire, True, 10)
        extra = await asyncio.gather(*(http.post(
            "/predict", files={"file": ("a.jpg", jpeg_bytes(), "image/jpeg")}) for _ in range(3)))
        health = (await http.get("/health")).json()["in_flight"]
        predictor.release.set()
        done = await asyncio.gather(*busy)
        after = (await http.post("/predict", content=jpeg_bytes(),
                                 headers={"content-type": "image/jpeg"})).status_code
    return [r.status_code for r in extra], [r.status_code for r in done], health, after


def test_requests_beyond_the_concurrency_limit_get_503(fake_predictor) -> None:
    extra, done, in_flight, after = asyncio.run(_overload_scenario(fake_predictor(block=True)))
    assert extra == [503, 503, 503]
    assert in_flight == 2
    assert done == [200, 200]
    assert after == 200


async def _timeout_scenario(predictor) -> tuple[int, str, int, int]:
    app = create_app(predictor, max_concurrency=1, max_queue=0, timeout_s=0.3)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        slow = await http.post("/predict", content=jpeg_bytes(),
                               headers={"content-type": "image/jpeg"})
        # the timed-out inference still runs: its slot is not handed to a new request
        while_running = (await http.post("/predict", content=jpeg_bytes(),
                                         headers={"content-type": "image/jpeg"})).status_code
        predictor.release.set()
        while app.state.gate.inside:
            await asyncio.sleep(0.01)
        after = (await http.post("/predict", content=jpeg_bytes(),
                                 headers={"content-type": "image/jpeg"})).status_code
    return slow.status_code, slow.json()["error"], while_running, after


async def _queue_scenario(predictor) -> tuple[int, int, dict, int, int]:
    app = create_app(predictor, max_concurrency=1, max_queue=1, timeout_s=20)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        def post() -> asyncio.Task:
            return asyncio.create_task(http.post(
                "/predict", files={"file": ("a.jpg", jpeg_bytes(), "image/jpeg")}))
        inside = post()
        await asyncio.to_thread(predictor.entered.acquire, True, 10)
        queued = post()
        while app.state.gate.waiting < 1:
            await asyncio.sleep(0.01)
        refused = (await http.post("/predict", content=jpeg_bytes(),
                                   headers={"content-type": "image/jpeg"})).status_code
        health = (await http.get("/health")).json()
        predictor.release.set()
        first, second = await asyncio.gather(inside, queued)
    return refused, first.status_code, health, second.status_code, app.state.gate.waiting


def test_a_bounded_queue_waits_for_a_slot_and_refuses_beyond(fake_predictor) -> None:
    refused, first, health, second, waiting_after = asyncio.run(
        _queue_scenario(fake_predictor(block=True)))
    assert refused == 503
    assert health["in_flight"] == 1 and health["waiting"] == 1
    assert first == 200 and second == 200  # the queued request was served once a slot freed
    assert waiting_after == 0


def test_slow_requests_time_out_with_504_and_the_service_recovers(fake_predictor) -> None:
    status, message, while_running, after = asyncio.run(_timeout_scenario(fake_predictor(block=True)))
    assert status == 504 and "0.3 s" in message
    assert while_running == 503
    assert after == 200


def test_predictor_bugs_are_json_and_do_not_stop_the_service(fake_predictor) -> None:
    broken = fake_predictor(fail=RuntimeError("boom"))
    client = TestClient(create_app(broken), raise_server_exceptions=False)
    response = client.post("/predict", content=jpeg_bytes(), headers={"content-type": "image/jpeg"})
    assert response.status_code == 500 and "boom" in response.json()["error"]
    assert client.get("/health").json()["in_flight"] == 0


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares width x height grey pixels and holds none (a decompression bomb's
    header)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + \
            struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def test_a_decompression_bomb_gets_our_own_413(client: TestClient) -> None:
    for width in (30_000, 100_000):  # above our limit; above Pillow's own bomb limit
        response = client.post("/predict", files={"file": ("b.png", png_header(width, width))})
        assert response.status_code == 413, response.text
        error = response.json()["error"]
        assert "limit of 1,000,000 (max_pixels)" in error, error
        assert "DOS attack" not in error and "decompression bomb" not in error.lower()


def test_info_and_every_413_quote_the_same_byte_limit(client: TestClient) -> None:
    limit = client.get("/info").json()["limits"]["max_upload_bytes"]
    big = b"\0" * (limit + 1)
    answers = [client.post("/predict", files={"file": ("a.jpg", big, "image/jpeg")}),
               client.post("/predict", content=big, headers={"content-type": "image/jpeg"}),
               client.post("/predict", content=b"\0" * (limit + 70_000),
                           headers={"content-type": "image/jpeg"})]
    texts = {r.json()["error"] for r in answers if r.status_code == 413}
    assert len(answers) == 3 and texts == {f"the image file is larger than the limit of "
                                           f"{limit:,} bytes (max_upload_bytes): send a "
                                           "smaller or more compressed image"}


@pytest.mark.parametrize(("limit", "value", "words"), [
    ("max_upload_bytes", 0, "--max-upload-bytes must be more than 0, got 0"),
    ("max_concurrency", -1, "--max-concurrency must be more than 0"),
    ("timeout_s", float("nan"), "--timeout must be a number"),
    ("max_queue", -2, "--max-queue must be 0 or more"),
])
def test_bad_limits_name_their_flag(limit: str, value: float, words: str) -> None:
    with pytest.raises(InvalidInputError, match=words):
        ServeLimits(**{limit: value})


def test_thin_and_odd_images_are_answered_never_500(fake_predictor) -> None:
    client = TestClient(create_app(fake_predictor()), raise_server_exceptions=False)
    for shape in ((3, 3000), (1, 40000), (1, 1)):
        buffer = io.BytesIO()
        Image.fromarray(np.full((*shape, 3), 128, np.uint8)).save(buffer, format="PNG")
        response = client.post("/predict", content=buffer.getvalue(),
                               headers={"content-type": "image/png"})
        assert response.status_code == 200, (shape, response.text)
    response = client.post("/predict?attention=maybe", content=jpeg_bytes(),
                           headers={"content-type": "image/jpeg"})
    assert response.status_code == 400 and "attention" in response.json()["error"]
