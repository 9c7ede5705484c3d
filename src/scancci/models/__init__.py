"""scancci.models: SCAN-CCI and baselines, one nn.Module each, with safe weights in and out.

    model = create_model("scancci_resnet50", num_classes=7)
    out = model(x)                      # x: B x 3 x 224 x 224, normalised
    out.logits, out.attention_logits, out.region_logits
    save_model(model, "out/model.safetensors"); model = load_model("out")
"""

from scancci.models.config import ExpressionModel, ModelConfig, ScanCCIOutput
from scancci.models.fast import optimize_for_inference
from scancci.models.io import load_model, save_model
from scancci.models.loss import scancci_loss
from scancci.models.plain import PlainClassifier
from scancci.models.reference import load_reference_checkpoint
from scancci.models.registry import MODELS, create_model, list_models
from scancci.models.scancci import ScanCCI
from scancci.models.vggface2 import load_vggface2_pickle
from scancci.models.zoo import PRETRAINED, list_pretrained, load_pretrained

__all__ = [
    "MODELS",
    "PRETRAINED",
    "ExpressionModel",
    "ModelConfig",
    "PlainClassifier",
    "ScanCCI",
    "ScanCCIOutput",
    "create_model",
    "list_models",
    "list_pretrained",
    "load_model",
    "load_pretrained",
    "load_reference_checkpoint",
    "load_vggface2_pickle",
    "optimize_for_inference",
    "save_model",
    "scancci_loss",
]
