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

from typing import TYPE_CHECKING

from scancci._lazy import lazy_exports

if TYPE_CHECKING:  # the public names, as type checkers see them; imported on first use
    from scancci.models.base import ExpressionModel as ExpressionModel
    from scancci.models.base import ScanCCIOutput as ScanCCIOutput
    from scancci.models.config import ModelConfig as ModelConfig
    from scancci.models.factory import MODELS as MODELS
    from scancci.models.factory import create_model as create_model
    from scancci.models.factory import list_models as list_models
    from scancci.models.io import load_network as load_network
    from scancci.models.io import save_model as save_model
    from scancci.models.loss import scancci_loss as scancci_loss
    from scancci.models.original import load_original_checkpoint as load_original_checkpoint
    from scancci.models.plain import PlainClassifier as PlainClassifier
    from scancci.models.pretrained import load_pretrained as load_pretrained
    from scancci.models.scancci import ScanCCI as ScanCCI
    from scancci.models.vggface2 import load_vggface2_pickle as load_vggface2_pickle
    from scancci.models.zoo import PRETRAINED as PRETRAINED
    from scancci.models.zoo import list_pretrained as list_pretrained

__getattr__, __dir__, __all__ = lazy_exports(globals())
