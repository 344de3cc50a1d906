"""resnet_utils.classroom.exercises: every checker accepts a right answer and rejects plausible wrong ones."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from resnet_utils.classroom.exercises import (
    check_confusion_matrix,
    check_conv2d,
    check_cross_entropy,
    check_grad_cam,
    check_group_norm,
    check_occlusion_map,
    check_residual_block,
)
from resnet_utils.models import ResidualBlock
from resnet_utils.ops import conv2d_naive


def rejected(checker, answer, *words):
    with pytest.raises(AssertionError) as info:
        checker(answer)
    message = str(info.value)
    for word in words:
        assert word in message, message
    return message


# --- conv2d -----------------------------------------------------------------------------------


def test_conv2d_accepts_right_answers(capsys):
    check_conv2d(conv2d_naive)
    check_conv2d(
        lambda x, w, b=None, stride=1, padding=0: F.conv2d(x, w, b, stride=stride, padding=padding)
    )
    assert "\u2713 check_conv2d" in capsys.readouterr().out


def test_conv2d_rejects_a_flipped_kernel():
    flipped = lambda x, w, b=None, stride=1, padding=0: F.conv2d(
        x, w.flip(-1, -2), b, stride=stride, padding=padding
    )
    rejected(check_conv2d, flipped, "flipped kernel")


def test_conv2d_rejects_a_missing_bias():
    no_bias = lambda x, w, b=None, stride=1, padding=0: F.conv2d(
        x, w, None, stride=stride, padding=padding
    )
    rejected(check_conv2d, no_bias, "bias")


def test_conv2d_rejects_ignored_stride_and_padding():
    rejected(check_conv2d, lambda x, w, b=None, stride=1, padding=0: F.conv2d(x, w, b), "shape")
    rejected(
        check_conv2d,
        lambda x, w, b=None, stride=1, padding=0: F.conv2d(x, w, b, padding=padding),
        "stride=2",
    )


def test_conv2d_crash_becomes_feedback():
    def crashes(x, w, b=None, stride=1, padding=0):
        return x @ w  # wrong shapes for matmul

    message = rejected(
        check_conv2d, crashes, "your code raised RuntimeError", "input (1, 1, 5, 5)"
    )
    assert "Traceback" not in message


def test_conv2d_stub_says_not_implemented():
    def stub(x, w, b=None, stride=1, padding=0):
        raise NotImplementedError

    rejected(check_conv2d, stub, "not implemented yet")


# --- residual block --------------------------------------------------------------------------


class NoShortcut(nn.Module):
    def __init__(self, i, o, stride=1):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(i, o, 3, stride, 1, bias=False), nn.BatchNorm2d(o)
        self.c2, self.b2 = nn.Conv2d(o, o, 3, 1, 1, bias=False), nn.BatchNorm2d(o)

    def forward(self, x):
        return F.relu(self.b2(self.c2(F.relu(self.b1(self.c1(x))))))


class NoFinalRelu(ResidualBlock):
    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return out + (x if self.downsample is None else self.downsample(x))


class NoProjection(NoShortcut):
    def forward(self, x):
        return F.relu(self.b2(self.c2(F.relu(self.b1(self.c1(x))))) + x)


class ProjectionAlways(NoShortcut):
    def __init__(self, i, o, stride=1):
        super().__init__(i, o, stride)
        self.proj = nn.Conv2d(i, o, 1, stride, bias=False)

    def forward(self, x):
        return F.relu(self.b2(self.c2(F.relu(self.b1(self.c1(x))))) + self.proj(x))


def test_residual_block_accepts_ours(capsys):
    check_residual_block(ResidualBlock)
    assert "\u2713" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong,words",
    [
        (NoShortcut, ["return its input"]),
        (NoFinalRelu, ["negative", "ReLU"]),
        (NoProjection, ["your code raised RuntimeError"]),
        (ProjectionAlways, ["identity"]),
    ],
)
def test_residual_block_rejects(wrong, words):
    rejected(check_residual_block, wrong, *words)


def test_residual_block_wants_a_class():
    rejected(check_residual_block, ResidualBlock(4, 4), "class")


# --- cross-entropy ---------------------------------------------------------------------------


def test_cross_entropy_accepts_right_answers(capsys):
    def stable(logits, targets):
        z = logits - logits.max(1, keepdim=True).values
        return -(z[torch.arange(len(targets)), targets] - z.exp().sum(1).log()).mean()

    check_cross_entropy(stable)
    check_cross_entropy(F.cross_entropy)
    assert capsys.readouterr().out.count("\u2713") == 2


def test_cross_entropy_rejects_a_sum():
    rejected(
        check_cross_entropy,
        lambda z, t: F.cross_entropy(z, t, reduction="sum"),
        "sum over the batch",
    )


def test_cross_entropy_rejects_an_unstable_softmax():
    def naive(z, t):
        p = z.exp() / z.exp().sum(1, keepdim=True)
        return -p[torch.arange(len(t)), t].log().mean()

    rejected(check_cross_entropy, naive, "large logits")


def test_cross_entropy_rejects_the_wrong_class_and_missing_log():
    rejected(
        check_cross_entropy, lambda z, t: F.cross_entropy(z, (t + 1) % z.shape[1]), "expected"
    )
    rejected(
        check_cross_entropy,
        lambda z, t: -torch.softmax(z, 1)[torch.arange(len(t)), t].mean(),
        "expected",
    )


# --- confusion matrix ------------------------------------------------------------------------


def right_cm(y_true, y_pred, k):
    m = np.zeros((k, k), dtype=int)
    np.add.at(m, (y_true, y_pred), 1)
    return m


def test_confusion_matrix_accepts_right_answer(capsys):
    check_confusion_matrix(right_cm)
    assert "\u2713" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong,words",
    [
        (lambda t, p, k: right_cm(t, p, k).T, ["transposed"]),
        (lambda t, p, k: right_cm(t, p, k) / len(t), ["normalised"]),
        (lambda t, p, k: right_cm(t, p, int(max(t.max(), p.max())) + 1), ["4x4"]),
        (lambda t, p, k: (right_cm(t, p, k) > 0).astype(int), ["expected"]),
    ],
)
def test_confusion_matrix_rejects(wrong, words):
    rejected(check_confusion_matrix, wrong, *words)


def test_checkers_want_callables():
    rejected(check_conv2d, "my_conv2d", "expected your function")


# --- Grad-CAM ---------------------------------------------------------------------------------


def right_cam(model, layer, X, target, **variant):
    """The package's Grad-CAM (tested against Captum in test_explain.py), or one of its variants."""
    from resnet_utils.explain import grad_cam

    return grad_cam(model, layer, X, target, **variant)


def test_grad_cam_accepts_right_answers(capsys):
    check_grad_cam(right_cam)
    assert "\u2713 check_grad_cam" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong,words",
    [
        (lambda m, la, X, t: right_cam(m, la, X, t, relu=False), ["negative", "ReLU"]),
        (lambda m, la, X, t: right_cam(m, la, X, t, pool="sum"), ["summed", "mean"]),
        (lambda m, la, X, t: right_cam(m, la, X, t, mode="nearest"), ["bilinear"]),
        (lambda m, la, X, t: right_cam(m, la, X, t, score="softmax"), ["softmax"]),
        (lambda m, la, X, t: right_cam(m, la, X, t, pool="none"), ["gradient x activation"]),
        (lambda m, la, X, t: right_cam(m, la, X, t, upsample=False), ["shape", "Upsample"]),
        (lambda m, la, X, t: right_cam(m, la, X, t)[:, None], ["shape", "channel dimension"]),
        (lambda m, la, X, t: right_cam(m, la, X, m(X).argmax(1)), ["predicted class"]),
        (lambda m, la, X, t: right_cam(m, la, X, t).abs() + 1e-3, ["largest difference"]),
    ],
)
def test_grad_cam_rejects(wrong, words):
    rejected(check_grad_cam, wrong, "check_grad_cam", "X of shape", *words)


def test_grad_cam_stub_and_crash_become_feedback():
    def stub(model, layer, X, target):
        raise NotImplementedError

    rejected(check_grad_cam, stub, "not implemented yet")
    message = rejected(check_grad_cam, lambda m, la, X, t: X.view(5, 7), "your code raised")
    assert "Traceback" not in message


# --- group norm (chapter 3) ------------------------------------------------------------------


def group_norm_by_hand(x, num_groups, gamma, beta, eps=1e-5):
    n, c = x.shape[:2]
    xg = x.reshape(n, num_groups, -1)  # each image's channels, split into groups
    mean = xg.mean(-1, keepdim=True)
    var = xg.var(-1, unbiased=False, keepdim=True)
    x_hat = ((xg - mean) / (var + eps).sqrt()).reshape(x.shape)
    return x_hat * gamma[:, None, None] + beta[:, None, None]


def test_group_norm_accepts_right_answers(capsys):
    check_group_norm(group_norm_by_hand)
    check_group_norm(lambda x, g, w, b, eps=1e-5: F.group_norm(x, g, w, b, eps))
    assert capsys.readouterr().out.count("\u2713 check_group_norm") == 2


def _unbiased(x, g, w, b, eps=1e-5):
    xg = x.reshape(x.shape[0], g, -1)
    x_hat = (xg - xg.mean(-1, keepdim=True)) / (xg.var(-1, keepdim=True) + eps).sqrt()
    return x_hat.reshape(x.shape) * w[:, None, None] + b[:, None, None]


def _batch_norm(x, g, w, b, eps=1e-5):
    return F.batch_norm(x, None, None, w, b, training=True, eps=eps)


@pytest.mark.parametrize(
    "wrong,words",
    [
        (_unbiased, ["unbiased variance"]),
        (lambda x, g, w, b, eps=1e-5: F.group_norm(x, g, eps=eps), ["gamma and beta"]),
        (_batch_norm, ["batch norm", "own statistics"]),
        (
            lambda x, g, w, b, eps=1e-5: F.group_norm(x, 1, w, b, eps),
            ["num_groups=2", "values differ"],
        ),
        (lambda x, g, w, b, eps=1e-5: F.group_norm(x, g, w, b, eps)[:, :-1], ["shape"]),
        (
            lambda x, g, w, b, eps=1e-5: F.group_norm(x, g, w, b, eps).numpy(),
            ["expected a tensor"],
        ),
    ],
)
def test_group_norm_rejects(wrong, words):
    rejected(check_group_norm, wrong, *words)


def test_group_norm_stub_and_crash_become_feedback():
    def stub(x, num_groups, gamma, beta, eps=1e-5):
        raise NotImplementedError

    rejected(check_group_norm, stub, "not implemented yet")
    message = rejected(check_group_norm, lambda x, g, w, b, eps=1e-5: x.reshape(g, 7), "raised")
    assert "Traceback" not in message
    rejected(check_group_norm, "group_norm", "expected your function")


# --- occlusion map ----------------------------------------------------------------------------


def _occlude(model, x, target, patch=4, fill=0.0, sign=1, channels=slice(None), drop=True):
    rows, cols = x.shape[-2] - patch + 1, x.shape[-1] - patch + 1
    batch = x.repeat(rows * cols, 1, 1, 1)
    for n in range(rows * cols):
        i, j = divmod(n, cols)
        batch[n, channels, i : i + patch, j : j + patch] = fill
    with torch.no_grad():
        blanked = model(batch)[:, target]
        full = model(x[None])[0, target]
    return (sign * (full - blanked) if drop else blanked).view(rows, cols)


def test_occlusion_map_accepts_a_right_answer(capsys):
    check_occlusion_map(_occlude)
    assert "\u2713 check_occlusion_map" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong,words",
    [
        (lambda m, x, t, patch=4, fill=0.0: _occlude(m, x, t, patch, fill, sign=-1), ["sign"]),
        (
            lambda m, x, t, patch=4, fill=0.0: _occlude(m, x, t, patch, fill, drop=False),
            ["blanked images' scores"],
        ),
        (lambda m, x, t, patch=4, fill=0.0: _occlude(m, x, t, patch, 0.0), ["fill=0"]),
        (
            lambda m, x, t, patch=4, fill=0.0: _occlude(
                m, x, t, patch, fill, channels=slice(0, 1)
            ),
            ["every channel"],
        ),
        (lambda m, x, t, patch=4, fill=0.0: _occlude(m, x, t, patch, fill)[::2], ["shape"]),
        (
            lambda m, x, t, patch=4, fill=0.0: _occlude(m, x, (t + 1) % 10, patch, fill),
            ["largest difference"],
        ),
    ],
)
def test_occlusion_map_rejects(wrong, words):
    rejected(check_occlusion_map, wrong, "check_occlusion_map", "x of shape", *words)


def test_occlusion_map_stub_says_not_implemented():
    def stub(model, x, target, patch=4, fill=0.0):
        raise NotImplementedError

    rejected(check_occlusion_map, stub, "not implemented yet")
