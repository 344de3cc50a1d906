"""resnet_utils.ops against torch.nn.functional.conv2d over a grid of shapes, strides, paddings, bias."""

import itertools

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from resnet_utils.ops import conv2d_naive, conv2d_unfold, conv_output_size, receptive_field

GRID = list(
    itertools.product(
        [(1, 1, 5, 5), (2, 3, 7, 6)],  # input (N, C_in, H, W), including non-square
        [(1, 3, 3), (4, 1, 1), (2, 2, 3)],  # kernel (C_out, K_h, K_w), including asymmetric 2x3
        [1, 2, 3],  # stride
        [0, 1, 2],  # padding
        [False, True],  # bias
    )
)


@pytest.mark.parametrize("fn", [conv2d_naive, conv2d_unfold])
@pytest.mark.parametrize("x_shape,k_shape,stride,padding,use_bias", GRID)
def test_equals_torch_conv2d(fn, x_shape, k_shape, stride, padding, use_bias):
    g = torch.Generator().manual_seed(hash((x_shape, k_shape, stride, padding)) % 2**31)
    x = torch.randn(*x_shape, generator=g, dtype=torch.float64)
    w = torch.randn(k_shape[0], x_shape[1], *k_shape[1:], generator=g, dtype=torch.float64)
    b = torch.randn(k_shape[0], generator=g, dtype=torch.float64) if use_bias else None
    expected = F.conv2d(x, w, b, stride=stride, padding=padding)
    torch.testing.assert_close(fn(x, w, b, stride=stride, padding=padding), expected)


@pytest.mark.parametrize("fn", [conv2d_naive, conv2d_unfold])
def test_pair_stride_and_padding(fn):
    x, w = torch.randn(1, 2, 9, 8), torch.randn(3, 2, 3, 2)
    torch.testing.assert_close(
        fn(x, w, stride=(2, 1), padding=(1, 0)),
        F.conv2d(x, w, stride=(2, 1), padding=(1, 0)),
        rtol=1e-5,
        atol=1e-5,
    )


def test_not_a_flipped_kernel():
    """Frameworks compute cross-correlation: flipping the kernel gives true convolution, a different result."""
    x, w = torch.randn(1, 1, 6, 6), torch.randn(1, 1, 3, 3)
    flipped = conv2d_unfold(x, w.flip(-1, -2))
    assert not torch.allclose(flipped, F.conv2d(x, w))


@pytest.mark.parametrize(
    "size,k,s,p,d", list(itertools.product([5, 8, 32], [1, 3, 5], [1, 2, 3], [0, 1, 2], [1, 2]))
)
def test_output_size_matches_conv2d(size, k, s, p, d):
    if d * (k - 1) + 1 > size + 2 * p:
        with pytest.raises(ValueError, match="kernel_size"):
            conv_output_size(size, k, s, p, d)
        return
    out = nn.Conv2d(1, 1, k, stride=s, padding=p, dilation=d)(torch.zeros(1, 1, size, size))
    assert conv_output_size(size, k, s, p, d) == out.shape[-1]


def _empirical_rf(layers):
    """Receptive field by experiment: which input pixels change the centre output's gradient."""
    convs = nn.Sequential(*[nn.Conv2d(1, 1, k, stride=s, bias=False) for k, s in layers])
    for c in convs:
        nn.init.constant_(c.weight, 1.0)
    x = torch.zeros(1, 1, 64, 64, requires_grad=True)
    y = convs(x)
    y[0, 0, y.shape[2] // 2, y.shape[3] // 2].backward()
    rows = x.grad[0, 0].abs().sum(1).nonzero()
    return int(rows.max() - rows.min() + 1)


@pytest.mark.parametrize(
    "layers",
    [
        [(3, 1)],
        [(3, 1)] * 2,
        [(3, 1)] * 3,
        [(7, 2), (3, 2), (3, 1)],
        [(3, 2), (3, 2), (3, 2)],
        [(5, 1), (1, 1)],
    ],
)
def test_receptive_field_by_gradients(layers):
    assert receptive_field(layers) == _empirical_rf(layers)


@pytest.mark.parametrize("fn", [conv2d_naive, conv2d_unfold])
@pytest.mark.parametrize(
    "args,kwargs,exc,word",
    [
        ((torch.randn(3, 5, 5), torch.randn(1, 3, 3, 3)), {}, ValueError, "input"),
        ((torch.randn(1, 3, 5, 5), torch.randn(3, 3, 3)), {}, ValueError, "weight"),
        ((torch.randn(1, 3, 5, 5), torch.randn(1, 2, 3, 3)), {}, ValueError, "input channels"),
        ((torch.randn(1, 3, 5, 5), torch.randn(1, 3, 3, 3)), {"stride": 0}, ValueError, "stride"),
        (
            (torch.randn(1, 3, 5, 5), torch.randn(1, 3, 3, 3)),
            {"padding": -1},
            ValueError,
            "padding",
        ),
        ((torch.randn(1, 3, 5, 5), torch.randn(1, 3, 7, 7)), {}, ValueError, "kernel_size"),
        (
            (torch.randn(1, 3, 5, 5), torch.randn(2, 3, 3, 3), torch.randn(3)),
            {},
            ValueError,
            "bias",
        ),
        (([[1.0]], torch.randn(1, 1, 1, 1)), {}, TypeError, "input"),
        (
            (torch.ones(1, 1, 3, 3, dtype=torch.long), torch.randn(1, 1, 1, 1)),
            {},
            TypeError,
            "input",
        ),
        ((torch.randn(1, 3, 5, 5), torch.randn(1, 3, 3, 3)), {"stride": 1.5}, TypeError, "stride"),
    ],
)
def test_bad_arguments(fn, args, kwargs, exc, word):
    with pytest.raises(exc, match=word):
        fn(*args, **kwargs)


@pytest.mark.parametrize(
    "call,exc,word",
    [
        (lambda: conv_output_size(0, 3), ValueError, "size"),
        (lambda: conv_output_size(5, 3, stride=0), ValueError, "stride"),
        (lambda: conv_output_size(5, 3, padding=-1), ValueError, "padding"),
        (lambda: conv_output_size(5, 7), ValueError, "kernel_size"),
        (lambda: receptive_field("3x3"), TypeError, "layers"),
        (lambda: receptive_field([(3,)]), ValueError, "layers"),
        (lambda: receptive_field([(3, 0)]), ValueError, "stride"),
    ],
)
def test_bad_sizes(call, exc, word):
    with pytest.raises(exc, match=word):
        call()
