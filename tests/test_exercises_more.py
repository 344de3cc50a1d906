"""The checkers of chapter 5's flip exercise and chapter 6's Nesterov exercise: a right answer
passes, plausible wrong answers are rejected with a hint, never the solution."""

import numpy as np
import pytest
import torch

from resnet_utils.classroom.exercises import check_flip_safe, check_nesterov_step


def nesterov(params, grads, velocities, lr, momentum, weight_decay):
    new_p, new_v = [], []
    for w, g, v in zip(params, grads, velocities):
        d = g + weight_decay * w
        v = momentum * v + d
        new_p.append(w - lr * (d + momentum * v))
        new_v.append(v)
    return new_p, new_v


def classical(params, grads, velocities, lr, momentum, weight_decay):
    new_p, new_v = [], []
    for w, g, v in zip(params, grads, velocities):
        v = momentum * v + g + weight_decay * w
        new_p.append(w - lr * v)
        new_v.append(v)
    return new_p, new_v


def no_decay(params, grads, velocities, lr, momentum, weight_decay):
    return nesterov(params, grads, velocities, lr, momentum, 0.0)


def test_nesterov_right_answer_passes(capsys):
    check_nesterov_step(nesterov)
    assert "three steps agree" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (classical, "classical momentum"),
        (no_decay, "parameter 0 expected"),
        (lambda *a: a[0], "expected \\(new_params, new_velocities\\)"),
    ],
)
def test_nesterov_wrong_answers_are_rejected(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        check_nesterov_step(wrong)


def test_nesterov_stub_says_not_implemented():
    def stub(*args):
        raise NotImplementedError

    with pytest.raises(AssertionError, match="not implemented yet"):
        check_nesterov_step(stub)


def _flip_data():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(10), 10)
    X = torch.arange(100, dtype=torch.float32).view(100, 1, 1, 1).repeat(1, 1, 2, 1)
    X[:, 0, 1, 0] = -1.0  # flipping rows moves this marker to row 0

    def predict(images):  # right on digits 0-3 after a vertical flip, wrong otherwise
        flipped = images[:, 0, 0, 0] == -1.0
        out = np.where(np.isin(y, [0, 1, 2, 3]) & flipped.numpy(), y, (y + 1) % 10)
        return out if rng is not None else None

    return predict, X, y


def test_flip_safe_accepts_the_measured_digits(capsys):
    predict, X, y = _flip_data()
    check_flip_safe([3, 1, 0, 2], predict, X, y)
    assert "4 digits" in capsys.readouterr().out


@pytest.mark.parametrize(
    "answer, message",
    [
        ([0, 1, 2], "1 recognised digit\\(s\\) missing"),
        ([0, 1, 2, 3, 9], "1 digit\\(s\\) that are recognised less"),
        (..., "not answered yet"),
        ("x", "expected a list of digits"),
    ],
)
def test_flip_safe_rejects_wrong_answers_without_naming_them(answer, message):
    predict, X, y = _flip_data()
    with pytest.raises(AssertionError, match=message) as err:
        check_flip_safe(answer, predict, X, y)
    assert "[0, 1, 2, 3]" not in str(err.value)
