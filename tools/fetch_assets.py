"""Fetch the JavaScript the rendered book needs, so that no page loads anything from a CDN.

Run by `make book` before Jupyter Book. Downloads three pinned npm packages
from the npm registry (once; they are cached in .cache/npm), checks each
against the integrity hash the registry publishes, and unpacks what the
pages use into _assets/offline/ (ignored by git; Sphinx copies it to _static/offline/):

- MathJax 3 (typesets the formulas),
- RequireJS and @jupyter-widgets/html-manager (draw the saved widget views).

_config.yml points Sphinx (mathjax_path) and myst-nb (nb_ipywidgets_js) at
these local copies.
"""

from __future__ import annotations

import base64
import hashlib
import io
import shutil
import sys
import tarfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "npm"
VENDOR = ROOT / "_assets" / "offline"  # html_static_path: copied to _build/html/_static/offline

# name, version, sha512 integrity (from `npm view NAME@VERSION dist.integrity`), files to keep: {tar prefix: dest}
PACKAGES = [
    (
        "mathjax",
        "3.2.2",
        "Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
        {"package/es5/": "mathjax/"},
    ),
    (
        "requirejs",
        "2.3.8",
        "7/cTSLOdYkNBNJcDMWf+luFvMriVm7eYxp4BcFCsAX0wF421Vyce5SXP17c+Jd5otXKGNehIonFlyQXSowL6Mw==",
        {"package/require.js": "requirejs/require.js"},
    ),
    (
        "@jupyter-widgets/html-manager",
        "1.0.15",
        "5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==",
        {"package/dist/": "npm/@jupyter-widgets/html-manager/dist/"},
    ),  # laid out like the CDN it replaces
]


def tarball(name: str, version: str, integrity: str) -> bytes:
    """The package's tarball from the cache or the registry, verified against ``integrity``."""
    CACHE.mkdir(parents=True, exist_ok=True)
    base = name.split("/")[-1]
    path = CACHE / f"{base}-{version}.tgz"
    if path.exists():
        data = path.read_bytes()
    else:
        url = f"https://registry.npmjs.org/{name}/-/{base}-{version}.tgz"
        print(f"fetching {url}")
        with urllib.request.urlopen(url, timeout=120) as response:
            data = response.read()
    digest = base64.b64encode(hashlib.sha512(data).digest()).decode()
    if digest != integrity:
        path.unlink(missing_ok=True)
        raise SystemExit(
            f"fetch_assets: {name}@{version} failed its integrity check (sha512 {digest})"
        )
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return data


def main() -> int:
    stamp = VENDOR / ".versions"
    wanted = "\n".join(f"{n}@{v} {keep}" for n, v, _, keep in PACKAGES) + "\nfonts-twice"
    if stamp.exists() and stamp.read_text() == wanted:
        return 0
    staging = VENDOR.with_name("offline.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    for name, version, integrity, keep in PACKAGES:
        try:
            data = tarball(name, version, integrity)
        except OSError as err:
            print(
                f"fetch_assets: cannot download {name}@{version} from the npm registry ({err}); "
                f"the book's math and widgets need it once. Check the network and run `make book` again.",
                file=sys.stderr,
            )
            return 1
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in tar.getmembers():
                for prefix, dest in keep.items():
                    if (
                        member.isfile()
                        and member.name.startswith(prefix)
                        and not member.name.endswith(".map")
                    ):
                        rel = dest + member.name[len(prefix) :] if prefix.endswith("/") else dest
                        target = staging / rel
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.write_bytes(tar.extractfile(member).read())
    # The widget manager resolves its icon fonts next to its bundle or one folder up, depending on
    # which of its modules loads first (seen as an intermittent 404 in the browser test): serve both.
    dist = staging / "npm" / "@jupyter-widgets" / "html-manager" / "dist"
    for font in dist.iterdir():
        if font.suffix in {".woff", ".woff2", ".ttf", ".eot", ".svg"}:
            shutil.copyfile(font, dist.parent.parent / font.name)
    (staging / ".versions").write_text(wanted)
    shutil.rmtree(VENDOR, ignore_errors=True)
    staging.replace(VENDOR)
    print(
        f"fetch_assets: {', '.join(f'{n}@{v}' for n, v, _, _ in PACKAGES)} in {VENDOR.relative_to(ROOT)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
