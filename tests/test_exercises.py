"""resnet_utils.exercises: every checker accepts a right answer and rejects plausible wrong ones."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from resnet_utils.exercises import check_confusion_matrix, check_conv2d, check_cross_entropy, check_residual_block
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
    check_conv2d(lambda x, w, b=None, stride=1, padding=0: F.conv2d(x, w, b, stride=stride, padding=padding))
    assert "\u2713 check_conv2d" in capsys.readouterr().out


def test_conv2d_rejects_a_flipped_kernel():
    flipped = lambda x, w, b=None, stride=1, padding=0: F.conv2d(x, w.flip(-1, -2), b, stride=stride, padding=padding)
    rejected(check_conv2d, flipped, "flipped kernel")


def test_conv2d_rejects_a_missing_bias():
    no_bias = lambda x, w, b=None, stride=1, padding=0: F.conv2d(x, w, None, stride=stride, padding=padding)
    rejected(check_conv2d, no_bias, "bias")


def test_conv2d_rejects_ignored_stride_and_padding():
    rejected(check_conv2d, lambda x, w, b=None, stride=1, padding=0: F.conv2d(x, w, b), "shape")
    rejected(check_conv2d, lambda x, w, b=None, stride=1, padding=0: F.conv2d(x, w, b, padding=padding), "stride=2")


def test_conv2d_crash_becomes_feedback():
    def crashes(x, w, b=None, stride=1, padding=0):
        return x @ w  # wrong shapes for matmul

    message = rejected(check_conv2d, crashes, "your code raised RuntimeError", "input (1, 1, 5, 5)")
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


@pytest.mark.parametrize("wrong,words", [
    (NoShortcut, ["return its input"]),
    (NoFinalRelu, ["negative", "ReLU"]),
    (NoProjection, ["your code raised RuntimeError"]),
    (ProjectionAlways, ["identity"]),
])
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
    rejected(check_cross_entropy, lambda z, t: F.cross_entropy(z, t, reduction="sum"), "sum over the batch")


def test_cross_entropy_rejects_an_unstable_softmax():
    def naive(z, t):
        p = z.exp() / z.exp().sum(1, keepdim=True)
        return -p[torch.arange(len(t)), t].log().mean()

    rejected(check_cross_entropy, naive, "large logits")


def test_cross_entropy_rejects_the_wrong_class_and_missing_log():
    rejected(check_cross_entropy, lambda z, t: F.cross_entropy(z, (t + 1) % z.shape[1]), "expected")
    rejected(check_cross_entropy, lambda z, t: -torch.softmax(z, 1)[torch.arange(len(t)), t].mean(), "expected")


# --- confusion matrix ------------------------------------------------------------------------

def right_cm(y_true, y_pred, k):
    m = np.zeros((k, k), dtype=int)
    np.add.at(m, (y_true, y_pred), 1)
    return m


def test_confusion_matrix_accepts_right_answer(capsys):
    check_confusion_matrix(right_cm)
    assert "\u2713" in capsys.readouterr().out


@pytest.mark.parametrize("wrong,words", [
    (lambda t, p, k: right_cm(t, p, k).T, ["transposed"]),
    (lambda t, p, k: right_cm(t, p, k) / len(t), ["normalised"]),
    (lambda t, p, k: right_cm(t, p, int(max(t.max(), p.max())) + 1), ["4x4"]),
    (lambda t, p, k: (right_cm(t, p, k) > 0).astype(int), ["expected"]),
])
def test_confusion_matrix_rejects(wrong, words):
    rejected(check_confusion_matrix, wrong, *words)


def test_checkers_want_callables():
    rejected(check_conv2d, "my_conv2d", "expected your function")
