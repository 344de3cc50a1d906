"""resnet_utils.metrics against scikit-learn and torch."""

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from resnet_utils.metrics import accuracy, predict


def test_accuracy_matches_sklearn():
    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 5, 100), rng.integers(0, 5, 100)
    assert accuracy(y, p) == accuracy_score(y, p)
    assert accuracy(torch.as_tensor(y), torch.as_tensor(p)) == accuracy_score(y, p)
    scores = rng.normal(size=(100, 5))
    assert accuracy(y, scores) == accuracy_score(y, scores.argmax(1))


@pytest.mark.parametrize("y,p", [([0, 1], [0]), ([], []), ([[0, 1]], [[0, 1]])])
def test_accuracy_bad_input(y, p):
    with pytest.raises(ValueError):
        accuracy(np.array(y), np.array(p))


def test_predict_softmax_in_eval_mode():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Dropout(0.5), nn.Linear(8, 3))
    X, y = torch.randn(20, 4), torch.randint(0, 3, (20,))
    model.train()
    y_true, y_prob = predict(model, DataLoader(TensorDataset(X, y), batch_size=6), "cpu")
    assert model.training  # mode restored
    model.eval()
    with torch.no_grad():
        expected = torch.softmax(model(X), dim=1).numpy()
    np.testing.assert_allclose(y_prob, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(y_true, y.numpy())
    np.testing.assert_allclose(y_prob.sum(1), 1, rtol=1e-5)


def test_predict_bad_input():
    with pytest.raises(TypeError, match="model"):
        predict("model", None)
    with pytest.raises(TypeError, match="loader"):
        predict(nn.Linear(2, 2), [1, 2])


def _random_problem(n, k, seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, k)) * 2
    y = rng.integers(0, k, n)
    logits[np.arange(n), y] += 1.5  # better than chance
    prob = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    return y, prob


@pytest.mark.parametrize("k", [2, 3, 10])
@pytest.mark.parametrize("seed", [0, 1])
def test_classification_metrics_match_sklearn(k, seed):
    from sklearn import metrics as skm

    from resnet_utils.metrics import classification_metrics

    y, prob = _random_problem(300, k, seed)
    pred = prob.argmax(1)
    m = classification_metrics(y, prob)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    for avg, suffix in [("macro", ""), ("micro", "_micro"), ("weighted", "_weighted")]:
        assert m[f"precision{suffix}"] == pytest.approx(
            skm.precision_score(y, pred, average=avg, zero_division=0)
        )
        assert m[f"recall{suffix}"] == pytest.approx(
            skm.recall_score(y, pred, average=avg, zero_division=0)
        )
        assert m[f"f1{suffix}"] == pytest.approx(
            skm.f1_score(y, pred, average=avg, zero_division=0)
        )
    np.testing.assert_array_equal(m["confusion_matrix"], skm.confusion_matrix(y, pred))
    expected_auc = (
        skm.roc_auc_score(y, prob[:, 1])
        if k == 2
        else skm.roc_auc_score(y, prob, multi_class="ovr", average="macro")
    )
    assert m["roc_auc"] == pytest.approx(expected_auc)
    assert m["confusion_matrix"].sum() == 300 and m["confusion_matrix"][0].sum() == (y == 0).sum()


@pytest.mark.parametrize(
    "y,prob,word",
    [
        ([0, 1, 1], [[0.5, 0.5], [0.2, 0.8]], "same length"),
        ([0, 1], [0.5, 0.5], "2-D"),
        ([0, 3], [[0.5, 0.5], [0.2, 0.8]], "outside"),
        ([0, -1], [[0.5, 0.5], [0.2, 0.8]], "outside"),
        ([0, 1], [[2.0, -1.0], [0.2, 0.8]], "probabilities"),
        ([], np.zeros((0, 2)), "empty"),
    ],
)
def test_classification_metrics_bad_input(y, prob, word):
    from resnet_utils.metrics import classification_metrics

    with pytest.raises(ValueError, match=word):
        classification_metrics(np.array(y), np.array(prob))


def test_reliability_and_ece_by_hand():
    from resnet_utils.metrics import expected_calibration_error, reliability_curve

    # 4 predictions at confidence 0.9 (3 right) and 4 at 0.6 (2 right)
    prob = np.array([[0.9, 0.1]] * 4 + [[0.4, 0.6]] * 4)
    y = np.array([0, 0, 0, 1] + [1, 1, 0, 0])
    conf, acc, count = reliability_curve(y, prob, n_bins=10)
    assert count[9] == 4 and count[6] == 4 and count.sum() == 8
    assert (
        conf[9] == pytest.approx(0.9)
        and acc[9] == pytest.approx(0.75)
        and acc[6] == pytest.approx(0.5)
    )
    assert expected_calibration_error(y, prob, n_bins=10) == pytest.approx(
        (4 * 0.15 + 4 * 0.1) / 8
    )
    perfect = np.eye(3)[[0, 1, 2]]
    assert expected_calibration_error([0, 1, 2], perfect) == 0.0


def test_temperature_recovers_a_known_temperature():
    from resnet_utils.metrics import apply_temperature, expected_calibration_error, fit_temperature

    rng = np.random.default_rng(0)
    logits = rng.normal(size=(20000, 5)) * 3
    true_prob = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = np.array(
        [rng.choice(5, p=p) for p in true_prob]
    )  # labels drawn from the true probabilities
    overconfident = np.exp(2 * logits) / np.exp(2 * logits).sum(
        1, keepdims=True
    )  # = temperature 1/2
    t = fit_temperature(y, overconfident)
    assert t == pytest.approx(2.0, rel=0.05)
    fixed = apply_temperature(overconfident, t)
    np.testing.assert_allclose(fixed, true_prob, atol=0.02)
    assert expected_calibration_error(y, fixed) < expected_calibration_error(y, overconfident) / 3
    assert (fixed.argmax(1) == overconfident.argmax(1)).all()  # accuracy unchanged
    with pytest.raises(ValueError, match="temperature"):
        apply_temperature(fixed, 0)


def _bootstrap_ci_by_hand(y_true, y_pred, metric=accuracy, n_boot=2000, level=0.95, seed=0):
    """The hand-written percentile bootstrap that bootstrap_ci replaced, kept as its oracle."""
    rng = np.random.default_rng(seed)
    n = len(y_true)
    scores = np.array(
        [metric(y_true[idx], y_pred[idx]) for idx in rng.integers(0, n, size=(n_boot, n))]
    )
    lo, hi = np.quantile(scores, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


def _noisy_predictions(n, right, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    return y, np.where(rng.random(n) < right, y, (y + 1) % 10)


@pytest.mark.parametrize("n, level, seed", [(900, 0.95, 0), (300, 0.9, 1), (60, 0.8, 2)])
def test_bootstrap_ci_agrees_with_the_hand_written_bootstrap(n, level, seed):
    from sklearn.metrics import f1_score

    from resnet_utils.metrics import bootstrap_ci

    y, pred = _noisy_predictions(n, 0.85, seed)
    macro_f1 = lambda a, b: f1_score(a, b, average="macro", labels=np.arange(10), zero_division=0)
    for metric in (accuracy, macro_f1):
        ours = bootstrap_ci(y, pred, metric, n_boot=200, level=level, seed=seed)
        oracle = _bootstrap_ci_by_hand(y, pred, metric, n_boot=200, level=level, seed=seed)
        np.testing.assert_allclose(ours, oracle, atol=0.01)
        assert ours[0] <= metric(y, pred) <= ours[1]
    scores = np.eye(10)[pred] + 0.1 * np.random.default_rng(seed).random((n, 10))  # 2-D scores
    np.testing.assert_allclose(
        bootstrap_ci(y, scores, n_boot=500, level=level, seed=seed),
        _bootstrap_ci_by_hand(y, pred, n_boot=500, level=level, seed=seed),
        atol=0.01,
    )


def test_bootstrap_ci():
    from resnet_utils.metrics import bootstrap_ci

    y, pred = _noisy_predictions(900, 0.9, 1)
    lo, hi = bootstrap_ci(y, pred, n_boot=1000)
    acc = accuracy(y, pred)
    assert lo < acc < hi and (lo, hi) == bootstrap_ci(y, pred, n_boot=1000)
    se = np.sqrt(acc * (1 - acc) / 900)  # the normal approximation's width is close
    assert hi - lo == pytest.approx(2 * 1.96 * se, rel=0.15)
    lo2, hi2 = bootstrap_ci(y[:100], pred[:100], n_boot=1000)
    assert hi2 - lo2 > hi - lo  # fewer test images, wider interval
    lo90, hi90 = bootstrap_ci(y, pred, n_boot=1000, level=0.9)
    assert lo <= lo90 < hi90 <= hi  # a lower level, a narrower interval
    assert bootstrap_ci(y, y, n_boot=100) == (1.0, 1.0)  # every resample is perfect
    with pytest.raises(ValueError, match="level"):
        bootstrap_ci(y, pred, level=95)
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_ci(y, pred, n_boot=5)
    with pytest.raises(ValueError, match="same length"):
        bootstrap_ci(y, pred[:-1])
    with pytest.raises(TypeError, match="metric"):
        bootstrap_ci(y, pred, metric="accuracy")
