"""Models trained here and shipped inside newsbot (installed as ``newsbot_models``).

One folder per model, each with ``model.onnx``, ``tokenizer.json``,
``config.json`` and ``MODEL_CARD.md``; ``index.models.shipped`` finds them.
"""
