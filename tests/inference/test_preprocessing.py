"""One preprocessing: a face image gives the same input tensor through evaluation (a dataset
read by `evaluate`'s loader) as through prediction (the Recognizer's crops), and training's
torchvision resize agrees with it."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from scancci.data import build_transforms, open_dataset
from scancci.evaluate.evaluate import eval_loader
from scancci.faces.align import crop_face
from scancci.imaging import model_input, read_rgb
from scancci.runtime.batches import softmax


def aligned_face(recognizer, photos_dir, size: int) -> np.ndarray:
    """A real face aligned at `size` px (RAF-DB's aligned images are 100 x 100)."""
    image, _ = read_rgb(photos_dir / "0-f15-hao-ph.jpg")
    ((face,),) = recognizer.detect([image])
    return crop_face(image, face.box, face.landmarks, output_size=size)


def test_evaluation_and_prediction_give_the_same_tensor(small_model, recognizer, photos_dir,
                                                        tmp_path) -> None:
    config = small_model.config
    face = aligned_face(recognizer, photos_dir, 100)  # not the model's 112 px: it is resized
    folder = tmp_path / "faces" / "happy"
    folder.mkdir(parents=True)
    Image.fromarray(face).save(folder / "face.png")  # lossless: the same pixels come back
    dataset = open_dataset("folder", tmp_path / "faces", num_classes=config.num_classes)
    evaluated, _ = next(iter(eval_loader(small_model, dataset)))
    predicted = torch.from_numpy(model_input([face], config.input_size, config.mean, config.std))
    assert evaluated.shape == predicted.shape == (1, 3, config.input_size, config.input_size)
    assert torch.equal(evaluated, predicted)
    # and the Recognizer classifies exactly that tensor
    probabilities, _ = recognizer.classify_crops([face])
    with torch.no_grad():
        logits = small_model(evaluated).logits.numpy()
    np.testing.assert_allclose(probabilities, softmax(logits, recognizer.temperature), atol=1e-5)


def test_training_resize_matches_the_shared_preprocessing(recognizer, photos_dir) -> None:
    face = Image.fromarray(aligned_face(recognizer, photos_dir, 100))
    plain = build_transforms(train=True, input_size=64, flip=False, color_jitter=False)
    shared = build_transforms(train=False, input_size=64)
    torch.testing.assert_close(plain(face), shared(face), atol=1e-6, rtol=0)
