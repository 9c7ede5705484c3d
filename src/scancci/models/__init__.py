"""scancci.models: SCAN-CCI and baselines, one nn.Module each, with safe weights in and out.

    model = create_model("scancci_resnet50", num_classes=7)
    out = model(x)                      # x: B x 3 x 224 x 224, normalised
    out.logits, out.attention_logits, out.region_logits
    save_model(model, "out/model.safetensors"); model = load_model("out")

Names are imported on first use: reading a model config or the pretrained zoo's entries
(`scancci.models.config`, `scancci.models.zoo`) never loads PyTorch.
"""

from __future__ import annotations

from scancci._lazy import lazy_exports

_EXPORTS = {
    "ExpressionModel": "scancci.models.base",
    "ScanCCIOutput": "scancci.models.base",
    "ModelConfig": "scancci.models.config",
    "optimize_for_inference": "scancci.models.fast",
    "load_model": "scancci.models.io",
    "save_model": "scancci.models.io",
    "scancci_loss": "scancci.models.loss",
    "PlainClassifier": "scancci.models.plain",
    "load_pretrained": "scancci.models.pretrained",
    "load_reference_checkpoint": "scancci.models.reference",
    "MODELS": "scancci.models.registry",
    "create_model": "scancci.models.registry",
    "list_models": "scancci.models.registry",
    "ScanCCI": "scancci.models.scancci",
    "load_vggface2_pickle": "scancci.models.vggface2",
    "PRETRAINED": "scancci.models.zoo",
    "list_pretrained": "scancci.models.zoo",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
