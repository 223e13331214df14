"""Train the reader from a training bundle on a machine that has only the training libraries.

A GPU machine often holds torch, transformers, tokenizers, safetensors and numpy but none of
ttqa's search and serving dependencies (faiss, bm25s, pydantic, gradio, ...), and no network to
install them. ``import ttqa`` loads those (it exports ``QA``); this script loads only the modules
training needs, from the ``src/`` beside it, and runs ``python -m ttqa.training`` with the same
arguments::

    python3 scripts/train_from_bundle.py --bundle B --work-dir W --device cuda --out W/reader.safetensors ...

Make the bundle first, here: ``python -m ttqa.training.bundle`` (see the reader's model card).
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "ttqa"


def main(argv: list[str]) -> int:
    if "--bundle" not in argv:
        print("train_from_bundle.py: --bundle is required (python -m ttqa.training.bundle)", file=sys.stderr)
        return 2
    package = types.ModuleType("ttqa")
    # its submodules import; the package's __init__ (QA and every backend) does not run
    package.__path__ = [str(SRC)]
    sys.modules["ttqa"] = package
    from ttqa import offline  # noqa: F401  (keeps the model libraries off the network)
    from ttqa.training.__main__ import main as train

    return train(argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
