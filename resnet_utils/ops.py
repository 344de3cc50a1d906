"""Convolution from the formula: loops, im2col, output sizes, receptive fields.

Chapter 1. What deep-learning frameworks call convolution is
cross-correlation (the kernel is not flipped). With input ``x`` of shape
``(N, C_in, H, W)``, weight ``w`` of shape ``(C_out, C_in, K_h, K_w)``,
bias ``b``, stride ``s`` and zero padding ``p`` (``x_p`` is the padded input),
indices from 0::

    y[n, o, i, j] = b[o] + sum_{c, u, v} x_p[n, c, s*i + u, s*j + v] * w[o, c, u, v]

    H_out = floor((H + 2p - K_h) / s) + 1  (and with dilation d: K -> d*(K-1) + 1)

:func:`conv2d_naive` is that formula as loops; :func:`conv2d_unfold` is the
same computation as one matrix multiply (im2col). Both equal
``torch.nn.functional.conv2d``; the tests check it over a grid of shapes.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ._checks import check, check_as

__all__ = [
    "conv_output_size",
    "conv2d_naive",
    "conv2d_unfold",
    "receptive_field",
    "classic_kernels",
    "conv_params",
    "conv_macs",
]


def _pair(value: int | Sequence[int]) -> tuple[int, int]:
    """``3`` -> ``(3, 3)``; a pair stays (checked already: the rules of ``_checks``)."""
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def conv_output_size(
    size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> int:
    """Output length along one dimension: ``floor((size + 2p - d(k-1) - 1) / s) + 1``.

    Raises ``ValueError`` when the (dilated) kernel is larger than the padded
    input, which has no valid output position.
    """
    size = check(
        size=size, kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation
    )[0]
    return _output_size(size, kernel_size, stride, padding, dilation)


def _output_size(size: int, kernel_size: int, stride: int, padding: int, dilation: int = 1) -> int:
    span = dilation * (kernel_size - 1) + 1  # input pixels one output pixel sees
    if span > size + 2 * padding:
        raise ValueError(
            f"kernel_size={kernel_size} (spanning {span} pixels with dilation={dilation}) is larger "
            f"than the padded input ({size} + 2*{padding} = {size + 2 * padding})"
        )
    return (size + 2 * padding - span) // stride + 1


def _check_conv_args(
    input: Tensor, weight: Tensor, bias: Tensor | None, stride, padding
) -> tuple[tuple[int, int], tuple[int, int], int, int]:
    check(input=input, weight=weight, bias=bias, stride=stride, padding=padding)
    if input.shape[1] != weight.shape[1]:
        raise ValueError(
            f"weight expects {weight.shape[1]} input channels (weight shape (C_out, C_in, K_h, K_w) = "
            f"{tuple(weight.shape)}) but input has {input.shape[1]} (input shape {tuple(input.shape)})"
        )
    if bias is not None and bias.shape[0] != weight.shape[0]:
        raise ValueError(
            f"bias must have one value per output channel ({weight.shape[0]}), "
            f"got shape {tuple(bias.shape)}"
        )
    stride, padding = _pair(stride), _pair(padding)
    h_out = _output_size(input.shape[2], weight.shape[2], stride[0], padding[0])
    w_out = _output_size(input.shape[3], weight.shape[3], stride[1], padding[1])
    return stride, padding, h_out, w_out


def conv2d_naive(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
) -> Tensor:
    """2-D cross-correlation written as loops over the output, as in the formula.

    For each sample ``n``, output channel ``o`` and output position ``(i, j)``
    it multiplies the input window under the kernel by the kernel and sums
    (over input channels and kernel rows and columns). Slow, and meant to be
    read: use :func:`torch.nn.functional.conv2d` for work.
    """
    (sh, sw), (ph, pw), h_out, w_out = _check_conv_args(input, weight, bias, stride, padding)
    n_batch, c_out = input.shape[0], weight.shape[0]
    k_h, k_w = weight.shape[2], weight.shape[3]
    x = F.pad(input, (pw, pw, ph, ph))  # zero padding: (left, right, top, bottom)
    out = torch.zeros(n_batch, c_out, h_out, w_out, dtype=input.dtype, device=input.device)
    for n in range(n_batch):
        for o in range(c_out):
            for i in range(h_out):
                for j in range(w_out):
                    window = x[
                        n, :, i * sh : i * sh + k_h, j * sw : j * sw + k_w
                    ]  # (C_in, K_h, K_w)
                    out[n, o, i, j] = (window * weight[o]).sum()  # sum over c, u, v
            if bias is not None:
                out[n, o] += bias[o]
    return out


def conv2d_unfold(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
) -> Tensor:
    """The same convolution as one matrix multiply (im2col).

    ``F.unfold`` copies every input window into a column: ``(N, C_in*K_h*K_w,
    L)`` with ``L = H_out * W_out``. Flattening each kernel into a row,
    ``(C_out, C_in*K_h*K_w)``, makes the convolution a product of the two.
    """
    stride, padding, h_out, w_out = _check_conv_args(input, weight, bias, stride, padding)
    c_out, k_h, k_w = weight.shape[0], weight.shape[2], weight.shape[3]
    cols = F.unfold(input, (k_h, k_w), padding=padding, stride=stride)  # (N, C_in*K_h*K_w, L)
    out = weight.reshape(c_out, -1) @ cols  # (N, C_out, L)
    if bias is not None:
        out = out + bias.view(1, c_out, 1)
    return out.view(input.shape[0], c_out, h_out, w_out)  # (N, C_out, H_out, W_out)


def receptive_field(layers: Sequence[tuple[int, int]]) -> int:
    """Receptive field (in input pixels) of one output pixel after ``layers``.

    ``layers`` lists ``(kernel_size, stride)`` from the input up. Each layer
    adds ``(k - 1) * jump`` pixels, where ``jump`` is the product of the
    strides below it: two 3x3 convs see 5x5, three see 7x7.
    """
    rf, jump = 1, 1
    for k, s in check_as("kernel_stride_pairs", "layers", layers):
        rf += (k - 1) * jump
        jump *= s
    return rf


def classic_kernels() -> dict[str, Tensor]:
    """Hand-designed 3x3 kernels of image processing, as float tensors (3, 3).

    Sobel x responds to vertical edges (changes from left to right), Sobel y
    to horizontal ones; the Laplacian to any change; box blur averages;
    sharpen adds the Laplacian's detail back to the image.
    """
    t = lambda rows: torch.tensor(rows, dtype=torch.float32)
    return {
        "identity": t([[0, 0, 0], [0, 1, 0], [0, 0, 0]]),
        "box_blur": torch.full((3, 3), 1.0 / 9.0),
        "sobel_x": t([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
        "sobel_y": t([[-1, -2, -1], [0, 0, 0], [1, 2, 1]]),
        "sharpen": t([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
        "laplacian": t([[0, 1, 0], [1, -4, 1], [0, 1, 0]]),
    }


def conv_params(
    in_channels: int, out_channels: int, kernel_size: int | tuple[int, int], bias: bool = True
) -> int:
    """Parameters of a conv layer: ``C_out * C_in * K_h * K_w`` weights, plus ``C_out`` biases."""
    c_in, c_out, kernel_size = check(
        in_channels=in_channels, out_channels=out_channels, kernel_size=kernel_size
    )
    k_h, k_w = _pair(kernel_size)
    return c_out * c_in * k_h * k_w + (c_out if bias else 0)


def conv_macs(
    in_channels: int,
    out_channels: int,
    kernel_size: int | tuple[int, int],
    output_size: int | tuple[int, int],
) -> int:
    """Multiply-accumulates of one conv layer on one image: one per weight per output pixel.

    A FLOP counter reports twice this (a multiply and an add per MAC).
    """
    h_out, w_out = _pair(check(output_size=output_size))
    return conv_params(in_channels, out_channels, kernel_size, bias=False) * h_out * w_out
