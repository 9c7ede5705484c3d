"""Reading one uploaded image safely, before any model slot is taken: bounded size, a timeout
on every read and on the whole upload, accepted content types; then decoding it at bounded
memory after checking its pixel count from the header.

Everything stays in memory (Starlette may spool a large multipart part to a temporary file in
the system temp dir); nothing from a request is written anywhere else.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import numpy as np
from fastapi import HTTPException, Request
from PIL import Image, UnidentifiedImageError

from scancci.errors import error_detail
from scancci.imaging import as_rgb_array, image_error
from scancci.serve.limits import ServeLimits

MULTIPART_OVERHEAD = 64 * 1024  # boundaries, part headers and the small form fields
FILE_FIELDS = ("file", "image")
RAW_TYPES = ("image/", "application/octet-stream")
FORMATS = "JPEG, PNG, BMP, TIFF, WebP, GIF"


class UploadError(HTTPException):
    """A 4xx answer with a JSON message naming the problem and the fix."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status_code=status, detail=message)


@dataclass(frozen=True)
class Upload:
    """The image file's bytes and the form's other fields (names -> text)."""

    data: bytes
    fields: dict[str, str] = field(default_factory=dict)


async def read_upload(request: Request, limits: ServeLimits) -> Upload:
    """The uploaded image: a multipart `file` field (with optional text fields) or a raw
    image/* body, read within the limits (408 too slow, 413 too large, 415 wrong type)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    multipart = content_type == "multipart/form-data"
    if not multipart and not content_type.startswith(RAW_TYPES):
        raise UploadError(415, f"unsupported content type {content_type or '(none)'!r}: send the "
                               "image as multipart/form-data (field 'file') or as an image/* body")
    body = await _read_bounded(request, limits, MULTIPART_OVERHEAD if multipart else 0)
    upload = await _from_form(request, body) if multipart else Upload(body)
    if not upload.data:
        raise UploadError(400, "the upload is empty: send a JPEG, PNG or other image file")
    if len(upload.data) > limits.max_upload_bytes:
        raise UploadError(413, too_large(limits.max_upload_bytes))
    return upload


def too_large(limit: int) -> str:
    """The one 413 text for an upload over the byte limit (the number /info reports)."""
    return (f"the image file is larger than the limit of {limit:,} bytes (max_upload_bytes): "
            "send a smaller or more compressed image")


def decode_image(data: bytes, max_pixels: int) -> np.ndarray:
    """Check the pixel count from the header, then decode to upright H x W x 3 RGB at bounded
    memory (400 if unreadable, 413 if too large)."""
    try:
        with Image.open(io.BytesIO(data)) as probe:
            width, height = probe.size
    except Image.DecompressionBombError:
        raise UploadError(413, _too_many_pixels("more", max_pixels)) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise UploadError(400, f"the upload is not a readable image ({FORMATS}): "
                               f"{image_error(err)}") from err
    if width * height > max_pixels:
        raise UploadError(413, _too_many_pixels(f"{width}x{height} = {width * height:,}",
                                                max_pixels))
    try:
        return as_rgb_array(data)
    except ValueError as err:  # InvalidInputError: truncated or corrupt data
        raise UploadError(400, f"the image could not be decoded: {error_detail(err)}") from err


def _too_many_pixels(count: str, limit: int) -> str:
    return (f"the image has {count} pixels, more than the limit of {limit:,} (max_pixels): "
            "resize it and send it again")


async def _read_bounded(request: Request, limits: ServeLimits, overhead: int) -> bytes:
    """The body, refused once it passes the byte limit (plus the multipart `overhead`), or
    when the client sends nothing for `read_timeout_s` or takes over `upload_timeout_s`."""
    limit = limits.max_upload_bytes + overhead
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise UploadError(413, too_large(limits.max_upload_bytes))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limits.upload_timeout_s
    chunks, size = [], 0
    async for chunk in _timed(request.stream(), limits, deadline):
        size += len(chunk)
        if size > limit:
            raise UploadError(413, too_large(limits.max_upload_bytes))
        chunks.append(chunk)
    return b"".join(chunks)


async def _timed(stream: AsyncIterator[bytes], limits: ServeLimits, deadline: float
                 ) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    while True:
        left = deadline - loop.time()
        wait = min(limits.read_timeout_s, left)
        try:
            if wait <= 0:
                raise TimeoutError
            yield await asyncio.wait_for(anext(stream), wait)
        except StopAsyncIteration:
            return
        except TimeoutError:
            if left <= limits.read_timeout_s:
                raise UploadError(408, f"the upload took longer than the "
                                       f"{limits.upload_timeout_s:g} s allowed (upload_timeout_s):"
                                       " send a smaller image or use a faster link") from None
            raise UploadError(408, f"no data arrived for {limits.read_timeout_s:g} s "
                                   "(read_timeout_s) while reading the upload") from None


async def _from_form(request: Request, body: bytes) -> Upload:
    async def replay() -> dict[str, object]:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form(max_files=2, max_fields=10)
    except (HTTPException, ValueError, AssertionError) as err:
        raise UploadError(400, f"malformed multipart body: {getattr(err, 'detail', err)}") from err
    texts = {name: value for name, value in form.items() if isinstance(value, str)}
    for name in FILE_FIELDS:
        part = form.get(name)
        if part is not None and not isinstance(part, str):
            data = await part.read()
            await part.close()
            return Upload(data, texts)
    fields = ", ".join(form.keys()) or "none"
    raise UploadError(400, f"no file field in the form (got fields: {fields}); send the image "
                           "in a field named 'file'")
