"""resnet_utils.widgets: drive the controls as a user would and check what they show."""

import pytest
import torch
import torch.nn.functional as F

from resnet_utils.ops import classic_kernels
from resnet_utils.widgets import ConvExplorer, ThresholdExplorer


@pytest.fixture
def no_pictures(monkeypatch):
    """The explorers' numbers without drawing their figures (seconds per test)."""
    from resnet_utils import widgets

    monkeypatch.setattr(widgets, "figure_png", lambda fig: b"")


@pytest.fixture
def image():
    torch.manual_seed(0)
    return torch.rand(20, 16)


def test_initial_state_matches_conv2d(image):
    ex = ConvExplorer(image, kernel="sobel_x")
    expected = F.conv2d(image[None, None], classic_kernels()["sobel_x"][None, None])[0, 0]
    torch.testing.assert_close(ex.result, expected)
    assert ex.output_size == (18, 14) and "output 18x14" in ex.size_label.value
    assert ex.picture.value[:4] == b"\x89PNG"


def test_stride_and_padding_controls(image):
    ex = ConvExplorer(image)
    before = ex.picture.value
    ex.stride.value, ex.padding.value = 2, 1
    assert ex.result.shape == (10, 8) and "output 10x8" in ex.size_text
    torch.testing.assert_close(
        ex.result, F.conv2d(image[None, None], ex.weight[None, None], stride=2, padding=1)[0, 0]
    )
    assert ex.picture.value != before


def test_choosing_a_kernel_fills_the_grid(image):
    ex = ConvExplorer(image)
    ex.kernel.value = "box_blur"
    torch.testing.assert_close(ex.weight, classic_kernels()["box_blur"])
    torch.testing.assert_close(ex.result, F.avg_pool2d(image[None, None], 3, stride=1)[0, 0])


def test_editing_a_value_makes_a_custom_kernel(image):
    ex = ConvExplorer(image, kernel="identity")
    torch.testing.assert_close(ex.result, image[1:-1, 1:-1])
    ex.cells[4].value = 2.0  # the centre weight
    assert ex.kernel.value == "custom"
    torch.testing.assert_close(ex.result, 2 * image[1:-1, 1:-1])
    ex.kernel.value = "identity"  # back to a named kernel resets the grid
    assert ex.cells[4].value == 1.0


def test_bad_arguments(image):
    with pytest.raises(ValueError, match="kernel"):
        ConvExplorer(image, kernel="gauss")
    with pytest.raises(ValueError, match="image"):
        ConvExplorer(image[None])


def test_augment_explorer_controls():
    from resnet_utils.widgets import AugmentExplorer

    torch.manual_seed(1)
    img = torch.rand(1, 12, 12)
    ex = AugmentExplorer(img, num_samples=6)
    assert ex.samples.shape == (6, 1, 12, 12)
    assert all(
        torch.equal(s, img) for s in ex.samples
    )  # no augmentation selected: the image itself
    ex.flip.value = True
    flips = [torch.equal(s, img.flip(-1)) for s in ex.samples]
    assert any(flips) and not all(flips)  # p = 0.5
    assert all(f or torch.equal(s, img) for f, s in zip(flips, ex.samples))
    first = ex.samples.clone()
    ex.update()
    assert torch.equal(first, ex.samples)  # seeded: same settings, same grid
    ex.flip.value = False
    ex.degrees.value = 30
    assert not all(torch.equal(s, img) for s in ex.samples)
    before = ex.picture.value
    ex.crop_padding.value = 3
    assert ex.picture.value != before and ex.samples.shape == (6, 1, 12, 12)


def test_augment_explorer_bad_arguments():
    from resnet_utils.widgets import AugmentExplorer

    with pytest.raises(ValueError, match="image"):
        AugmentExplorer(torch.rand(12, 12))
    with pytest.raises(ValueError, match="num_samples"):
        AugmentExplorer(torch.rand(1, 12, 12), num_samples=0)


def test_threshold_explorer_matches_sklearn(no_pictures):
    import numpy as np
    from sklearn.metrics import confusion_matrix

    from resnet_utils.widgets import ThresholdExplorer

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 200)
    prob = rng.dirichlet([1, 1, 1], 200)
    prob[np.arange(200), y] += 0.5
    prob /= prob.sum(1, keepdims=True)
    ex = ThresholdExplorer(y, prob, positive_class=2, threshold=0.4)
    for c, t in [(2, 0.4), (0, 0.7), (1, 0.05)]:
        ex.positive.value, ex.threshold.value = c, t
        tn, fp, fn, tp = confusion_matrix(y == c, prob[:, c] >= t).ravel()
        assert ex.counts == {"tp": tp, "fp": fp, "fn": fn, "tn": tn}
        assert ex.tpr == tp / (tp + fn) and ex.fpr == fp / (fp + tn)
        assert f"TP {tp}," in ex.label.value
    ex.threshold.value = 0.0
    assert ex.tpr == 1.0 and ex.fpr == 1.0  # everything is positive
    with pytest.raises(ValueError, match="positive_class"):
        ThresholdExplorer(y, prob, positive_class=3)


def _counts_by_hand(actual, predicted):
    """The hand-written sums that ThresholdExplorer used before scikit-learn's confusion_matrix."""
    import numpy as np

    return {
        "tp": int(np.sum(predicted & actual)),
        "fp": int(np.sum(predicted & ~actual)),
        "fn": int(np.sum(~predicted & actual)),
        "tn": int(np.sum(~predicted & ~actual)),
    }


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_threshold_explorer_counts_match_the_hand_written_sums_and_sklearn(seed, no_pictures):
    import numpy as np
    from sklearn.metrics import precision_score, recall_score

    from resnet_utils.widgets import ThresholdExplorer

    rng = np.random.default_rng(seed)
    k, n = 4, 150
    y = rng.integers(0, k, n)
    prob = rng.dirichlet(np.ones(k), n)
    ex = ThresholdExplorer(y, prob, positive_class=0)
    for c in range(k):
        for t in (0.0, 0.1, 0.25, 0.4, 0.6, 0.9, 1.0):
            ex.positive.value, ex.threshold.value = c, t
            actual, predicted = y == c, prob[:, c] >= t
            assert ex.counts == _counts_by_hand(actual, predicted), (c, t)
            assert all(type(v) is int for v in ex.counts.values())
            assert sum(ex.counts.values()) == n
            assert ex.tpr == pytest.approx(recall_score(actual, predicted))
            if predicted.any():
                assert ex.precision == pytest.approx(precision_score(actual, predicted))
            else:  # nothing predicted positive: precision undefined
                assert np.isnan(ex.precision) and ex.counts["tp"] == ex.counts["fp"] == 0


@pytest.mark.filterwarnings("ignore:No positive")  # sklearn, about the ROC and PR curves
def test_threshold_explorer_when_one_outcome_is_missing(no_pictures):
    import numpy as np

    from resnet_utils.widgets import ThresholdExplorer

    y = np.zeros(6, dtype=int)  # class 1 never occurs: no actual positives for it
    prob = np.tile([0.7, 0.3], (6, 1))
    ex = ThresholdExplorer(y, prob, positive_class=1, threshold=0.2)
    assert ex.counts == {"tp": 0, "fp": 6, "fn": 0, "tn": 0}
    assert np.isnan(ex.tpr) and ex.fpr == 1.0 and ex.precision == 0.0
    ex.threshold.value = 0.5  # nothing predicted positive either
    assert ex.counts == {"tp": 0, "fp": 0, "fn": 0, "tn": 6} and ex.fpr == 0.0


# ---------------------------------------------------------------- the HTML twins (the book's copy)


def _twin(explorer):
    """The twin's kind, its JSON data and its inline script, read back from the HTML."""
    import json
    from html.parser import HTMLParser

    class Reader(HTMLParser):
        def __init__(self):
            super().__init__()
            self.roots, self.scripts, self._in = [], [], None

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == "div" and "resnet-explorer" in (attrs.get("class") or "").split():
                self.roots.append(attrs)
            if tag == "script":
                self._in = attrs.get("type", "")
                self.scripts.append([self._in, ""])

        def handle_data(self, data):
            if self._in is not None:
                self.scripts[-1][1] += data

        def handle_endtag(self, tag):
            if tag == "script":
                self._in = None

    reader = Reader()
    reader.feed(explorer.html())
    (root,) = reader.roots
    (data,) = [s for t, s in reader.scripts if t == "application/json"]
    (code,) = [s for t, s in reader.scripts if t == ""]
    return root["data-explorer"], json.loads(data), code


def _decode(b64, dtype):
    import base64

    import numpy as np

    return np.frombuffer(base64.b64decode(b64), dtype=np.dtype(dtype).newbyteorder("<"))


def test_display_bundle_has_the_widget_and_the_html_twin(image):
    ex = ConvExplorer(image)
    bundle = ex._repr_mimebundle_()
    view = bundle["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"]  # Jupyter draws the live widget
    assert bundle["text/html"].startswith('<div class="resnet-explorer" data-explorer="conv">')


def test_conv_twin_carries_the_current_state(image):
    import re

    from resnet_utils._twin import script

    ex = ConvExplorer(image, kernel="sharpen")
    ex.stride.value, ex.padding.value = 2, 1
    kind, data, code = _twin(ex)
    assert kind == "conv"
    assert (data["height"], data["width"], data["stride"], data["padding"]) == (20, 16, 2, 1)
    assert data["kernel"] == "sharpen" and data["weight"] == ex.weight.flatten().tolist()
    assert data["kernel_names"] == list(classic_kernels())
    assert data["kernels"]["box_blur"] == classic_kernels()["box_blur"].flatten().tolist()
    assert (_decode(data["image"], "float32").reshape(20, 16) == image.numpy()).all()
    assert code.startswith(script()) and "mountAll()" in code
    assert "</script" not in script().lower()  # it is inlined in a <script> element
    # offline: the only URL in the twin is SVG's namespace, which is a name, not a request
    urls = set(re.findall(r"https?://[^\s\"')]+", ex.html()))
    assert urls <= {"http://www.w3.org/2000/svg"}


def test_twin_data_cannot_close_its_script_element():
    import numpy as np

    y = np.array([0, 1, 1, 0])
    prob = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.7, 0.3]])
    ex = ThresholdExplorer(y, prob, class_names=["</script><b>", "a & b"])
    page = ex.html()
    assert page.count("</script>") == 2 and "<b>" not in page
    kind, data, _ = _twin(ex)
    assert kind == "threshold" and data["class_names"] == ["</script><b>", "a & b"]


def test_augment_twin_carries_the_settings():
    from resnet_utils.widgets import AugmentExplorer

    torch.manual_seed(2)
    img = torch.rand(3, 10, 8)
    ex = AugmentExplorer(img, num_samples=5, seed=3)
    ex.degrees.value, ex.flip.value, ex.scale.value = 45, True, 0.2
    kind, data, _ = _twin(ex)
    assert kind == "augment"
    assert (data["channels"], data["height"], data["width"]) == (3, 10, 8)
    assert (data["num_samples"], data["seed"]) == (5, 3)
    assert data["settings"] == ex.settings
    assert data["settings"]["degrees"] == 45 and data["settings"]["flip"] is True
    assert (_decode(data["image"], "float32").reshape(3, 10, 8) == img.numpy()).all()


def test_threshold_twin_carries_sklearn_curves():
    import numpy as np
    from sklearn.metrics import precision_recall_curve, roc_curve

    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 40)
    prob = rng.dirichlet([1, 1, 1], 40)
    ex = ThresholdExplorer(y, prob, positive_class=1, threshold=0.3)
    kind, data, _ = _twin(ex)
    assert (data["positive_class"], data["threshold"], data["num_classes"]) == (1, 0.3, 3)
    assert (_decode(data["labels"], "int32") == y).all()
    assert (_decode(data["probs"], "float64").reshape(40, 3) == prob).all()  # exact: >= decides
    for c, curve in enumerate(data["curves"]):
        fpr, tpr, _ = roc_curve(y == c, prob[:, c])
        prec, rec, _ = precision_recall_curve(y == c, prob[:, c])
        np.testing.assert_allclose(_decode(curve["fpr"], "float32"), fpr, rtol=1e-6)
        np.testing.assert_allclose(_decode(curve["tpr"], "float32"), tpr, rtol=1e-6)
        np.testing.assert_allclose(_decode(curve["precision"], "float32"), prec, rtol=1e-6)
        np.testing.assert_allclose(_decode(curve["recall"], "float32"), rec, rtol=1e-6)


# ---------------------------------------------------------------- augment(): the explorer's steps


def test_augment_equals_the_torchvision_transforms_it_stands_for():
    from torchvision.transforms import InterpolationMode, v2

    from resnet_utils.widgets import augment

    torch.manual_seed(4)
    img = torch.rand(1, 12, 10)
    none = {"padding": 0, "top": 0, "left": 0, "flip": False, "angle": 0.0}
    none |= {"translate": [0, 0], "scale": 1.0, "brightness": 1.0}
    assert torch.equal(augment(img, none), img)
    bilinear = InterpolationMode.BILINEAR
    cases = [  # (parameters, a v2 transform that draws exactly those)
        ({"flip": True}, v2.RandomHorizontalFlip(p=1.0)),
        ({"angle": 35.0}, v2.RandomAffine(degrees=(35, 35), interpolation=bilinear)),
        ({"scale": 1.25}, v2.RandomAffine(degrees=0, scale=(1.25, 1.25), interpolation=bilinear)),
        ({"padding": 2, "top": 2, "left": 2}, v2.Compose([v2.Pad(2), v2.CenterCrop((12, 10))])),
        ({"brightness": 1.5}, v2.ColorJitter(brightness=(1.5, 1.5))),
    ]
    for params, transform in cases:
        torch.testing.assert_close(augment(img, none | params), transform(img), msg=str(params))
    cropped = augment(img, none | {"padding": 3, "top": 0, "left": 5})  # up-left corner at (-3, 2)
    torch.testing.assert_close(cropped, F.pad(img, [3, 3, 3, 3])[:, :12, 5:15])
    shifted = augment(img, none | {"translate": [2, -1]})  # right 2, up 1, zeros come in
    torch.testing.assert_close(shifted[0, :11, 2:], img[0, 1:, :8])
    assert shifted[0, :, :2].abs().max() == 0 and shifted[0, 11].abs().max() == 0


def test_augment_explorer_samples_are_augment_of_their_params():
    from resnet_utils.widgets import AugmentExplorer, augment

    torch.manual_seed(5)
    img = torch.rand(1, 12, 12)
    ex = AugmentExplorer(img, num_samples=4)
    ex.degrees.value, ex.translate.value, ex.crop_padding.value = 90, 0.1, 2
    ex.brightness.value = 0.3
    assert len(ex.params) == 4 and len({p["angle"] for p in ex.params}) == 4
    for p, sample in zip(ex.params, ex.samples):
        assert -90 <= p["angle"] <= 90 and 0 <= p["top"] <= 4
        torch.testing.assert_close(sample, augment(img, p).clamp(0, 1))


def test_augment_explorer_scale_control():
    from resnet_utils.widgets import AugmentExplorer

    torch.manual_seed(6)
    img = torch.rand(1, 12, 12)
    ex = AugmentExplorer(img, num_samples=3)
    ex.scale.value = 0.4
    assert all(0.6 <= p["scale"] <= 1.4 and p["angle"] == 0 for p in ex.params)
    assert not any(torch.equal(s, img) for s in ex.samples)
    assert "scale" in repr(ex.transform)


def test_threshold_explorer_lower_threshold_more_recall(no_pictures):
    """The self-test chapter 7 ran in front of the reader: lowering the threshold finds more."""
    import numpy as np

    rng = np.random.default_rng(7)
    y = rng.integers(0, 4, 120)
    prob = rng.dirichlet(np.ones(4), 120)
    ex = ThresholdExplorer(y, prob, positive_class=2, threshold=0.5)
    recalls, fprs = [], []
    for t in (0.9, 0.5, 0.3, 0.05, 0.0):
        ex.threshold.value = t
        recalls.append(ex.tpr)
        fprs.append(ex.fpr)
    assert recalls == sorted(recalls) and fprs == sorted(fprs)
    assert recalls[-1] == 1.0 and fprs[-1] == 1.0


def test_conv_explorer_chapter_1_setting(no_pictures):
    """Chapter 1's explorer: a 128x128 image, stride 2, no padding, gives 63x63."""
    image = torch.rand(128, 128, generator=torch.Generator().manual_seed(0))
    ex = ConvExplorer(image)
    ex.stride.value = 2
    expected = F.conv2d(image[None, None], ex.weight[None, None], stride=2)[0, 0]
    torch.testing.assert_close(ex.result, expected)
    assert expected.shape == (63, 63) and "output 63x63" in ex.size_text


def test_every_explorer_displays_an_html_twin():
    """A new explorer follows the rule: displayed, it brings a twin that works in the book."""
    import inspect

    from resnet_utils import widgets
    from resnet_utils._twin import KINDS

    explorers = [
        obj
        for name, obj in vars(widgets).items()
        if inspect.isclass(obj) and name.endswith("Explorer") and name in widgets.__all__
    ]
    assert len(explorers) == len(KINDS) == 3
    for cls in explorers:
        assert callable(getattr(cls, "html", None)), cls.__name__
        assert "_repr_mimebundle_" in vars(cls), cls.__name__
        # IPython would call _ipython_display_ instead of _repr_mimebundle_: no twin in the output
        assert not hasattr(cls, "_ipython_display_"), cls.__name__
