"""resnet_utils.widgets: drive the controls as a user would and check what they show."""

import pytest
import torch
import torch.nn.functional as F

from resnet_utils.ops import classic_kernels
from resnet_utils.widgets import ConvExplorer


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
    torch.testing.assert_close(ex.result, F.conv2d(image[None, None], ex.weight[None, None],
                                                   stride=2, padding=1)[0, 0])
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
    assert all(torch.equal(s, img) for s in ex.samples)  # no augmentation selected: the image itself
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


def test_threshold_explorer_matches_sklearn():
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

    return {"tp": int(np.sum(predicted & actual)), "fp": int(np.sum(predicted & ~actual)),
            "fn": int(np.sum(~predicted & actual)), "tn": int(np.sum(~predicted & ~actual))}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_threshold_explorer_counts_match_the_hand_written_sums_and_sklearn(seed, monkeypatch):
    import numpy as np
    from sklearn.metrics import precision_score, recall_score

    from resnet_utils import widgets
    from resnet_utils.widgets import ThresholdExplorer

    monkeypatch.setattr(widgets, "figure_png", lambda fig: b"")  # the numbers, not the pictures
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
def test_threshold_explorer_when_one_outcome_is_missing():
    import numpy as np

    from resnet_utils.widgets import ThresholdExplorer

    y = np.zeros(6, dtype=int)  # class 1 never occurs: no actual positives for it
    prob = np.tile([0.7, 0.3], (6, 1))
    ex = ThresholdExplorer(y, prob, positive_class=1, threshold=0.2)
    assert ex.counts == {"tp": 0, "fp": 6, "fn": 0, "tn": 0}
    assert np.isnan(ex.tpr) and ex.fpr == 1.0 and ex.precision == 0.0
    ex.threshold.value = 0.5  # nothing predicted positive either
    assert ex.counts == {"tp": 0, "fp": 0, "fn": 0, "tn": 6} and ex.fpr == 0.0
