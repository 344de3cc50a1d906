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
