"""scancci.models: SCAN-CCI and baselines, one nn.Module each, with safe weights in and out.

    model = create_model("scancci_resnet50", num_classes=7)
    out = model(x)                      # x: B x 3 x 224 x 224, normalised
    out.logits, out.attention_logits, out.region_logits
    save_model(model, "out/model.safetensors"); model = load_network("out")

`scancci.load_model` is the one loader for every model file (it also opens .onnx exports);
`load_network` is its PyTorch part. How the networks run fast is `scancci.speed`.

Names are imported on first use: reading a model config or the pretrained zoo's entries
(`scancci.models.config`, `scancci.models.zoo`) never loads PyTorch.
"""

from __future__ import annotations

from scancci._lazy import lazy_exports

_EXPORTS = {
    "ExpressionModel": "scancci.models.base",
    "ScanCCIOutput": "scancci.models.base",
    "ModelConfig": "scancci.models.config",
    "load_network": "scancci.models.io",
    "load_model": "scancci.models.io",  # = load_network, for callers that need an nn.Module
    "save_model": "scancci.models.io",
    "scancci_loss": "scancci.models.loss",
    "PlainClassifier": "scancci.models.plain",
    "load_pretrained": "scancci.models.pretrained",
    "load_original_checkpoint": "scancci.models.original",
    "MODELS": "scancci.models.factory",
    "create_model": "scancci.models.factory",
    "list_models": "scancci.models.factory",
    "ScanCCI": "scancci.models.scancci",
    "load_vggface2_pickle": "scancci.models.vggface2",
    "PRETRAINED": "scancci.models.zoo",
    "list_pretrained": "scancci.models.zoo",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
