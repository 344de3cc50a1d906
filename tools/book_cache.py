"""Keep the book's execution cache in step with the code that filled it.

``make test`` (tools/run_notebooks.py) stores every notebook it executed without
error in the jupyter-cache that Jupyter Book reads (``_build/.jupyter_cache``,
``execute_notebooks: cache`` in _config.yml), so that ``make book`` merges those
outputs instead of executing the notebooks again. jupyter-cache recognises a
notebook by its code cells only: outputs cached before resnet_utils/ (or
pyproject.toml, requirements.txt) changed would still be served. So the cache
carries a hash of those sources (the file ``sources.sha256`` in it), and
``make book`` runs this script first:

    python tools/book_cache.py [--cache _build/.jupyter_cache]

It clears the cache when the recorded hash is missing or differs from the
sources' hash now, and records the current one; Jupyter Book then executes (and
caches) every notebook whose outputs are not in the cache.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = ROOT / "_build" / ".jupyter_cache"  # Jupyter Book 1's: <build dir>/.jupyter_cache
# What the outputs depend on besides the notebooks' code (files, or folders: every file in them).
SOURCES = ("resnet_utils", "pyproject.toml", "requirements.txt")
STAMP = "sources.sha256"  # in the cache folder, so that clearing the cache removes it too


def sources_hash(root: Path = ROOT) -> str:
    """SHA-256 over the names and contents of the files the notebooks' outputs depend on."""
    digest = hashlib.sha256()
    for name in SOURCES:
        top = root / name
        files = (
            [top]
            if top.is_file()
            else sorted(
                p
                for p in top.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
            )
        )
        for path in files:
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def recorded_hash(cache: Path) -> str | None:
    """The sources' hash recorded in ``cache``, or None."""
    try:
        return (cache / STAMP).read_text().strip() or None
    except OSError:
        return None


def ensure_fresh(cache: Path, digest: str) -> str:
    """Clear ``cache`` unless it records ``digest``, then record it.

    Return "kept" (it recorded ``digest``), "cleared" (it did not), or "new" (there was none).
    """
    if recorded_hash(cache) == digest:
        return "kept"
    state = "cleared" if cache.exists() else "new"
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True, exist_ok=True)
    (cache / STAMP).write_text(digest + "\n")
    return state


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--cache",
        type=Path,
        default=DEFAULT_CACHE,
        help="the jupyter-cache folder (default: _build/.jupyter_cache)",
    )
    p.add_argument(
        "--root",
        type=Path,
        default=ROOT,
        help="the folder holding resnet_utils/ etc. (default: this repository)",
    )
    args = p.parse_args(argv)
    digest = sources_hash(args.root)
    state = ensure_fresh(args.cache, digest)
    print(
        f"{args.cache}: "
        + {
            "kept": f"kept, it holds outputs of the current sources ({digest[:12]})",
            "cleared": "cleared: resnet_utils/, pyproject.toml or requirements.txt changed since its "
            "notebooks were executed, or it records no sources hash",
            "new": "none yet; every notebook will be executed",
        }[state]
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
