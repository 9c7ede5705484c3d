"""Classifier backends shared by inference and export: what turns a batch of aligned,
normalised face crops into logits.

- `scancci.runtime.classifier`: the `Classifier` interface (no PyTorch);
- `scancci.runtime.torch_backend`: `TorchClassifier` (PyTorch fp32 or bf16 autocast);
- `scancci.runtime.onnx_backend`: `OnnxClassifier` (onnxruntime, fp32 or int8 ONNX files);
- `scancci.runtime.batches`: crop preprocessing and softmax in numpy;
- `scancci.runtime.metadata`: the model config stored inside exported files;
- `scancci.runtime.loading`: `load_model`, the one loader for every model file (PyTorch
  networks, and .onnx exports as their `OnnxClassifier`).

Nothing here exports or detects: `scancci.export` writes the files that the ONNX backend reads,
and `scancci.inference` chooses a backend for a model.
"""
