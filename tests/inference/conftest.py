"""Fixtures of the inference tests: a small random-init SCAN-CCI model (its predictions mean
nothing; the tests check the plumbing: faces, probabilities, rows, files), saved once."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch


@pytest.fixture(scope="session")
def small_model() -> torch.nn.Module:
    """Random-init SCAN-CCI MobileNetV2 at 112 px, seeded, in eval mode."""
    from scancci.models import create_model

    torch.manual_seed(0)
    return create_model("scancci_mobilenetv2", num_classes=7, input_size=112).eval()


@pytest.fixture(scope="session")
def model_path(small_model, tmp_path_factory) -> Path:
    """The small model saved as safetensors + JSON config."""
    from scancci.models import save_model

    path = tmp_path_factory.mktemp("model") / "model.safetensors"
    save_model(small_model, path)
    return path


@pytest.fixture(scope="session")
def recognizer(small_model):
    """A Recognizer (default detector, PyTorch fp32) over the small model."""
    from scancci.inference import Recognizer

    return Recognizer(small_model, batch_size=4)


@pytest.fixture(scope="session")
def broken_video(tmp_path_factory, photos_dir) -> Path:
    """A 10-frame MJPEG AVI of a real face whose frame 4 is corrupted on disk."""
    import av
    import numpy as np
    from PIL import Image

    path = tmp_path_factory.mktemp("video") / "broken.avi"
    face = np.asarray(Image.open(photos_dir / "0-f15-hao-ph.jpg").convert("RGB").resize((160, 160)))
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mjpeg", rate=10)
        stream.width, stream.height, stream.pix_fmt = 160, 160, "yuvj420p"
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.roll(face, 2 * i, axis=1), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    data = bytearray(path.read_bytes())
    starts = [i for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] == 0xD8]
    assert len(starts) == 10
    data[starts[4] + 2:starts[5] - 64] = b"\xff" * (starts[5] - 66 - starts[4])
    path.write_bytes(bytes(data))
    return path
