"""scancci: facial expression recognition with SCAN-CCI, offline, robust to occlusion.

The public API is re-exported here and imported lazily, so `import scancci` stays cheap
(the CLI and the service import only what they use).
"""

from __future__ import annotations

from scancci._lazy import lazy_exports
from scancci.version import __version__

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # models
    "create_model": "scancci.models",
    "list_models": "scancci.models",
    "list_pretrained": "scancci.models",
    "load_pretrained": "scancci.models",
    "save_model": "scancci.models",
    "load_model": "scancci.runtime.loading",
    "load_original_checkpoint": "scancci.models",
    "scancci_loss": "scancci.models",
    "ScanCCI": "scancci.models",
    "ScanCCIOutput": "scancci.models",
    "ModelConfig": "scancci.models",
    # data
    "CLASS_NAMES": "scancci.data",
    "open_dataset": "scancci.data",
    "list_datasets": "scancci.data",
    "generate_demo_dataset": "scancci.data",
    # faces
    "FaceDetector": "scancci.faces",
    "align_face": "scancci.faces",
    "apply_mask": "scancci.faces",
    # inference
    "Recognizer": "scancci.inference",
    "Prediction": "scancci.inference",
    "Face": "scancci.inference",
    # training and evaluation
    "fit": "scancci.train",
    "load_recipe": "scancci.train",
    "list_recipes": "scancci.train",
    "TrainConfig": "scancci.train",
    "evaluate_model": "scancci.evaluate",
    "evaluate_models": "scancci.evaluate.session",
    "calibrate": "scancci.evaluate",
    # deployment
    "export_onnx": "scancci.export",
    "export_torchscript": "scancci.export",
    "create_app": "scancci.serve",
}

__all__ = ["__version__", *_EXPORTS]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
