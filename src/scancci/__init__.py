"""scancci: facial expression recognition with SCAN-CCI, offline, robust to occlusion.

The public API. Names are imported on first use (`scancci._lazy`), so `import scancci` stays
cheap: the CLI and the service import only what they use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scancci._lazy import lazy_exports
from scancci.version import __version__

if TYPE_CHECKING:  # the public names, as type checkers see them; imported on first use
    from scancci.data.labels import CLASS_NAMES as CLASS_NAMES
    from scancci.data.registry import list_datasets as list_datasets
    from scancci.data.registry import open_dataset as open_dataset
    from scancci.data.synthetic import generate_demo_dataset as generate_demo_dataset
    from scancci.evaluate.calibration import calibrate as calibrate
    from scancci.evaluate.evaluate import evaluate_model as evaluate_model
    from scancci.evaluate.session import evaluate_models as evaluate_models
    from scancci.export.onnx import export_onnx as export_onnx
    from scancci.export.torchscript import export_torchscript as export_torchscript
    from scancci.faces.align import align_face as align_face
    from scancci.faces.detect import FaceDetector as FaceDetector
    from scancci.faces.masks import apply_mask as apply_mask
    from scancci.inference.recognizer import Recognizer as Recognizer
    from scancci.inference.results import Face as Face
    from scancci.inference.results import Prediction as Prediction
    from scancci.models.base import ScanCCIOutput as ScanCCIOutput
    from scancci.models.config import ModelConfig as ModelConfig
    from scancci.models.factory import create_model as create_model
    from scancci.models.factory import list_models as list_models
    from scancci.models.io import save_model as save_model
    from scancci.models.loss import scancci_loss as scancci_loss
    from scancci.models.scancci import ScanCCI as ScanCCI
    from scancci.models.zoo import list_pretrained as list_pretrained
    from scancci.runtime.loading import load_model as load_model
    from scancci.serve.app import create_app as create_app
    from scancci.train.config import TrainConfig as TrainConfig
    from scancci.train.fitting import fit as fit
    from scancci.train.recipes import list_recipes as list_recipes
    from scancci.train.recipes import load_recipe as load_recipe

__all__ = ["__version__"]
__getattr__, __dir__, __all__ = lazy_exports(globals())
