"""Reading one uploaded image safely: bounded body, accepted content types, pixel count.

Everything stays in memory (Starlette may spool a large multipart part to a temporary file in
the system temp dir); nothing from a request is written anywhere else.
"""

from __future__ import annotations

import io

from fastapi import HTTPException, Request
from PIL import Image, UnidentifiedImageError

from scancci.errors import error_detail
from scancci.imaging import load_image

MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around the file
FILE_FIELDS = ("file", "image")
RAW_TYPES = ("image/", "application/octet-stream")


class UploadError(HTTPException):
    """A 4xx answer with a JSON message naming the problem and the fix."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status_code=status, detail=message)


async def read_upload(request: Request, max_bytes: int) -> bytes:
    """The uploaded image's bytes: a multipart `file` field or a raw image/* body."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    multipart = content_type == "multipart/form-data"
    if not multipart and not content_type.startswith(RAW_TYPES):
        raise UploadError(415, f"unsupported content type {content_type or '(none)'!r}: send the "
                               "image as multipart/form-data (field 'file') or as an image/* body")
    body = await _read_bounded(request, max_bytes + (MULTIPART_OVERHEAD if multipart else 0))
    data = await _file_from_form(request, body) if multipart else body
    if not data:
        raise UploadError(400, "the upload is empty: send a JPEG, PNG or other image file")
    if len(data) > max_bytes:
        raise UploadError(413, _too_large(len(data), max_bytes))
    return data


def decode_image(data: bytes, max_pixels: int) -> Image.Image:
    """Check the pixel count from the header, then decode to upright RGB (400 if unreadable)."""
    try:
        with Image.open(io.BytesIO(data)) as probe:
            width, height = probe.size
    except Image.DecompressionBombError as err:
        raise UploadError(413, f"the image is too large to decode ({error_detail(err)})") from err
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise UploadError(400, "the upload is not a readable image (JPEG, PNG, BMP, TIFF, WebP, "
                               f"GIF): {error_detail(err)}") from err
    if width * height > max_pixels:
        raise UploadError(413, f"the image has {width}x{height} = {width * height:,} pixels, more "
                               f"than the {max_pixels:,} allowed: resize it and send it again")
    try:
        return load_image(data)
    except ValueError as err:  # InvalidInputError from load_image: truncated or corrupt data
        raise UploadError(400, f"the image could not be decoded: {error_detail(err)}") from err


async def _read_bounded(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise UploadError(413, _too_large(int(declared), limit))
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise UploadError(413, _too_large(size, limit, at_least=True))
        chunks.append(chunk)
    return b"".join(chunks)


async def _file_from_form(request: Request, body: bytes) -> bytes:
    async def replay() -> dict[str, object]:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form(max_files=2, max_fields=10)
    except (HTTPException, ValueError, AssertionError) as err:
        raise UploadError(400, f"malformed multipart body: {getattr(err, 'detail', err)}") from err
    for name in FILE_FIELDS:
        part = form.get(name)
        if part is not None and hasattr(part, "read"):
            data = await part.read()
            await part.close()
            return data
    fields = ", ".join(form.keys()) or "none"
    raise UploadError(400, f"no file field in the form (got fields: {fields}); send the image "
                           "in a field named 'file'")


def _too_large(size: int, limit: int, *, at_least: bool = False) -> str:
    more = "more than " if at_least else ""
    return (f"the upload is {more}{size:,} bytes; the limit is {limit:,} bytes: send a smaller "
            "or more compressed image")
