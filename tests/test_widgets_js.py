"""static/explorers.js, the explorers' browser copy, against the Python references (under node).

The rendered book computes the explorers in the browser; these tests run the
same functions under node on tiny inputs and compare them with F.conv2d,
torchvision's functional transforms, scikit-learn and the explorers' own
labels. The browser test (browser_tests/test_book.py) checks the drawn pages.
"""

from __future__ import annotations

import html
import json
import math
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import resnet_utils
from resnet_utils._twin import encode
from resnet_utils.ops import classic_kernels, conv_output_size
from resnet_utils.widgets import ConvExplorer, ThresholdExplorer, augment

LIBRARY = Path(resnet_utils.__file__).parent / "static" / "explorers.js"
NODE = shutil.which("node")

if NODE is None:
    message = (
        "node is not installed (Debian: apt-get install nodejs): the JS explorers go untested"
    )
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message, allow_module_level=True)

DRIVER = """
const lib = require(process.argv[1]);
const calls = JSON.parse(require("fs").readFileSync(0, "utf8"), (k, v) => (v === "NaN" ? NaN : v));
const results = calls.map(([fn, args]) => lib[fn](...args));
process.stdout.write(JSON.stringify(results, (key, v) => {
  if (ArrayBuffer.isView(v)) return Array.from(v, (x) => (Number.isNaN(x) ? "NaN" : x));
  return typeof v === "number" && Number.isNaN(v) ? "NaN" : v;
}));
"""


def run_js(calls: list[tuple[str, list]]) -> list:
    """Call the library's functions in one node process: [(name, args), ...] -> results."""
    done = subprocess.run(
        [NODE, "-e", DRIVER, str(LIBRARY)],
        input=json.dumps(calls),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout, parse_constant=float)


def nan_array(values) -> np.ndarray:
    return np.array([math.nan if v == "NaN" else v for v in values], dtype=np.float64)


def test_decode_reads_what_python_encodes():
    f32 = np.array([0.1, -2.5, np.nan, 1e-8], dtype=np.float32)
    f64 = np.array([0.1, 1 / 3, -0.0, 2.0**-40])
    i32 = np.array([0, -7, 2**31 - 1], dtype=np.int32)
    got = run_js(
        [
            ("decode", [encode(f32, "float32"), "float32"]),
            ("decode", [encode(f64, "float64"), "float64"]),
            ("decode", [encode(i32, "int32"), "int32"]),
        ]
    )
    np.testing.assert_array_equal(nan_array(got[0]), f32.astype(np.float64))
    np.testing.assert_array_equal(nan_array(got[1]), f64)
    np.testing.assert_array_equal(got[2], i32)


def test_pyfixed_formats_as_python():
    values = [0.0, 0.0625, 0.125, 0.375, 0.5, 1.5, 2.5, 0.0005, 0.3, 1 / 3, 2 / 3, 0.9995]
    values += [0.00625, 0.99999, 1.0, 12.345, 0.015625, 7 / 16, 29 / 32, math.nan]
    cases = [(v, d) for v in values for d in range(5)]
    got = run_js([("pyFixed", [("NaN" if math.isnan(v) else v), d]) for v, d in cases])
    expected = [f"{v:.{d}f}" for v, d in cases]
    assert got == expected


def test_conv2d_matches_F_conv2d():
    torch.manual_seed(0)
    kernels = list(classic_kernels().values()) + [torch.randn(3, 3) for _ in range(2)]
    cases = []
    for h, w in [(3, 3), (5, 7), (9, 6), (12, 11)]:
        x = torch.rand(h, w)
        for i, (stride, padding) in enumerate([(1, 0), (1, 1), (2, 0), (2, 1), (3, 2), (4, 3)]):
            cases.append((x, kernels[(i + h) % len(kernels)], stride, padding))
    got = run_js(
        [
            ("conv2d", [x.flatten().tolist(), *x.shape, k.flatten().tolist(), s, p])
            for x, k, s, p in cases
        ]
    )
    for (x, k, s, p), out in zip(cases, got):
        expected = F.conv2d(x[None, None], k[None, None], stride=s, padding=p)[0, 0]
        assert (out["height"], out["width"]) == tuple(expected.shape)
        assert out["height"] == conv_output_size(x.shape[0], 3, s, p)
        torch.testing.assert_close(
            torch.tensor(out["data"], dtype=torch.float64).view_as(expected),
            expected.double(),
            atol=1e-5,
            rtol=1e-5,
        )


def test_conv_size_label_is_the_python_label():
    torch.manual_seed(0)
    ex = ConvExplorer(torch.rand(13, 10))
    cases = [(1, 0), (2, 1), (4, 3), (3, 0)]
    expected = []
    for stride, padding in cases:
        ex.stride.value, ex.padding.value = stride, padding
        expected.append(html.unescape(ex.size_text))
    assert run_js([("convText", [13, 10, s, p]) for s, p in cases]) == expected


PARAMS = [
    {},  # nothing: the image itself
    {"padding": 2, "top": 0, "left": 4},
    {"padding": 3, "top": 5, "left": 1},
    {"flip": True},
    {"angle": 30.0},
    {"angle": -127.5, "translate": [2, -1]},
    {"translate": [-3, 2]},
    {"scale": 0.8},
    {"angle": 180.0},
    {"angle": 12.0, "scale": 1.3, "translate": [1, 1]},
    {"brightness": 1.6},
    {"brightness": 0.4},
    {
        "padding": 2,
        "top": 1,
        "left": 3,
        "flip": True,
        "angle": -71.0,
        "translate": [-2, 3],
        "scale": 0.9,
        "brightness": 1.3,
    },
]


def _full(p: dict) -> dict:
    base = {"padding": 0, "top": 0, "left": 0, "flip": False, "angle": 0.0}
    base |= {"translate": [0, 0], "scale": 1.0, "brightness": 1.0}
    return base | p


@pytest.mark.parametrize("shape", [(1, 12, 12), (1, 9, 14), (3, 10, 8)])
def test_augment_matches_torchvision(shape):
    torch.manual_seed(sum(shape))
    image = torch.rand(shape)
    params = [_full(p) for p in PARAMS]
    got = run_js([("augment", [image.flatten().tolist(), *shape, p]) for p in params])
    for p, out in zip(params, got):
        expected = augment(image, p)
        torch.testing.assert_close(
            torch.tensor(out).view(shape), expected, atol=2e-5, rtol=0, msg=lambda m: f"{p}: {m}"
        )


def test_sampled_parameters_are_seeded_and_in_range():
    settings = {
        "degrees": 40.0,
        "translate": 0.2,
        "scale": 0.3,
        "flip": True,
        "crop_padding": 3,
        "brightness": 0.5,
    }
    off = dict.fromkeys(settings, 0) | {"flip": False}
    first, again, other, none = run_js(
        [
            ("sampleAugmentParams", [settings, 12, 10, 64, 7]),
            ("sampleAugmentParams", [settings, 12, 10, 64, 7]),
            ("sampleAugmentParams", [settings, 12, 10, 64, 8]),
            ("sampleAugmentParams", [off, 12, 10, 5, 7]),
        ]
    )
    assert first == again and first != other  # the seed decides
    assert none == [_full({})] * 5  # no control set: the image itself
    for p in first:
        assert p["padding"] == 3 and 0 <= p["top"] <= 6 and 0 <= p["left"] <= 6
        assert -40 <= p["angle"] <= 40 and 0.7 <= p["scale"] <= 1.3
        assert all(isinstance(t, int) for t in p["translate"])
        assert abs(p["translate"][0]) <= 2 and abs(p["translate"][1]) <= 2  # 0.2 x 10, 0.2 x 12
        assert 0.5 <= p["brightness"] <= 1.5
    flips = [p["flip"] for p in first]
    assert 16 < sum(flips) < 48  # p = 0.5 over 64 draws
    assert len({p["top"] for p in first}) == 7  # every offset 0..6 occurs


@pytest.mark.filterwarnings("ignore:No positive")  # class 3's curves, in ThresholdExplorer.update
def test_threshold_stats_and_label_match_sklearn_and_python(monkeypatch):
    from sklearn.metrics import confusion_matrix

    from resnet_utils import widgets

    monkeypatch.setattr(widgets, "figure_png", lambda fig: b"")  # the numbers, not the pictures
    rng = np.random.default_rng(3)
    k, n = 4, 60
    y = rng.integers(0, k, n)
    y[y == 3] = 2  # class 3 never occurs: no actual positives, NaN recall
    prob = rng.dirichlet(np.ones(k), n)
    prob[:5, 0] = 0.25  # ties at a threshold: >= counts them as positive
    ex = ThresholdExplorer(y, prob)
    cases = [(c, t) for c in range(k) for t in (0.0, 0.05, 0.25, 0.5, 0.99, 1.0)]
    calls = []
    for c, t in cases:
        calls.append(("thresholdStats", [y.tolist(), prob.flatten().tolist(), k, c, t]))
    stats = run_js(calls)
    texts = run_js([("thresholdText", [t, s]) for (c, t), s in zip(cases, stats)])
    for (c, t), s, text in zip(cases, stats, texts):
        tn, fp, fn, tp = confusion_matrix(y == c, prob[:, c] >= t, labels=[False, True]).ravel()
        assert (s["tp"], s["fp"], s["fn"], s["tn"]) == (tp, fp, fn, tn), (c, t)
        ex.positive.value, ex.threshold.value = c, t
        for name in ("tpr", "fpr", "precision"):
            js, py = s[name], getattr(ex, name)
            assert js == py or (js == "NaN" and math.isnan(py)), (c, t, name)
        assert text == html.unescape(ex.label.value), (c, t)


def test_every_twin_kind_has_a_javascript_explorer():
    import re

    from resnet_utils._twin import KINDS

    source = LIBRARY.read_text()
    (table,) = re.findall(r"var MOUNT = \{([^}]*)\}", source)
    assert set(re.findall(r"(\w+):", table)) == set(KINDS)
