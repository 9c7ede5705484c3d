"""Decoding at bounded memory: a large 16-bit PNG becomes 8-bit RGB without a float copy of the
image (the old float64 conversion took 20 bytes a pixel at its peak), in a fresh process so the
peak resident size measures this decode alone."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from scancci.imaging import as_rgb_array, load_image

# Peak resident-memory growth allowed per pixel while decoding a 16-bit grey PNG to RGB: the
# 16-bit image (2 B), the 8-bit grey (1 B) and the RGB result (3 B), plus decoder buffers.
BYTES_PER_PIXEL = 10
SIDE = 3000

MEASURE = textwrap.dedent("""
    import resource, sys
    from scancci.imaging import as_rgb_array
    data = open(sys.argv[1], "rb").read()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rgb = as_rgb_array(data)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(rgb.shape, rgb.dtype, (after - before) * 1024)
""")


@pytest.mark.slow
def test_a_large_16_bit_png_decodes_within_the_memory_bound(tmp_path) -> None:
    y, x = np.mgrid[0:SIDE, 0:SIDE]
    path = tmp_path / "deep.png"
    Image.fromarray(((x * 7 + y * 13) % 65536).astype(np.uint16)).save(path)
    assert Image.open(path).mode == "I;16"
    out = subprocess.run([sys.executable, "-c", MEASURE, str(path)], capture_output=True,
                         text=True, check=True).stdout.split()
    assert out[:4] == ["(3000,", "3000,", "3)", "uint8"], out
    growth = int(out[4])
    assert growth <= BYTES_PER_PIXEL * SIDE * SIDE, f"{growth / SIDE**2:.1f} bytes per pixel"


def test_16_bit_range_is_stretched_like_before() -> None:
    values = np.array([[1000, 2000], [3000, 65535]], np.uint16)
    rgb = as_rgb_array(Image.fromarray(values))
    expected = ((values.astype(np.float64) - 1000) * (255 / 64535)).astype(np.uint8)
    np.testing.assert_array_equal(rgb[..., 0], expected)
    assert (rgb[..., 0] == rgb[..., 2]).all()
    np.testing.assert_array_equal(np.asarray(load_image(Image.fromarray(values))), rgb)
    flat = as_rgb_array(Image.fromarray(np.full((4, 4), 7, np.uint16)))
    assert flat.shape == (4, 4, 3) and not flat.any()
