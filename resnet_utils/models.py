"""Residual networks: blocks, the ImageNet ResNets and the CIFAR family.

Chapters 2, 3 and 4 teach from this file; chapter 9 loads pretrained weights
into it. It follows ``torchvision/models/resnet.py`` in order and in names
(``conv3x3``/``conv1x1``, the blocks, one stage builder ``_make_layer``,
``ResNet``, then thin builders; attributes ``conv1, bn1, relu, maxpool,
layer1..layer4, avgpool, fc`` and ``downsample`` for the projection
shortcut), so that torchvision's state dicts load key for key with
``strict=True`` and give the same outputs. The plain network
(``residual=False``), the pre-activation block (``preact=True``) and the
normalisation (``norm_layer``) are arguments, as in torchvision;
:func:`freeze_batch_norm` freezes the batch norm of a network already built
(chapter 9's linear probe). Looking inside a network (shapes, blocks,
features) is :mod:`resnet_utils.explain`'s.

References
    He, Zhang, Ren, Sun (2016). Deep Residual Learning for Image Recognition.
    CVPR. arXiv:1512.03385. Section 3.3 (ImageNet models, Table 1) and
    Section 4.2 (the CIFAR-10 family, depth 6n+2, Table 6).
    He, Zhang, Ren, Sun (2016b). Identity Mappings in Deep Residual Networks.
    ECCV. arXiv:1603.05027 (the pre-activation block and CIFAR network,
    ``preact=True``; the pre-activation ImageNet models are not provided:
    torchvision has none, so there are no weights of theirs to load).
    Goyal et al. (2017). Accurate, Large Minibatch SGD. arXiv:1706.02677
    (zero-initialising the last batch norm of each residual branch).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

import torch
from torch import Tensor, nn

from ._checks import check

__all__ = [
    "conv3x3",
    "conv1x1",
    "BasicBlock",
    "Bottleneck",
    "PreActBlock",
    "ResidualBlock",
    "PadShortcut",
    "ResNet",
    "resnet18",
    "resnet34",
    "resnet50",
    "CifarResNet",
    "cifar_resnet",
    "count_parameters",
    "build_model",
    "ARCHITECTURES",
    "buildable",
    "freeze_batch_norm",
    "NormLayer",
]


# A normalisation layer from its number of channels, as torchvision's ``norm_layer``:
# nn.BatchNorm2d (the default), torchvision.ops.FrozenBatchNorm2d (fixed statistics) or
# None, which gives nn.Identity (no normalisation at all).
NormLayer = Callable[[int], nn.Module] | None


def _norm(norm_layer: NormLayer, channels: int) -> nn.Module:
    return nn.Identity() if norm_layer is None else norm_layer(channels)


def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """3x3 convolution with padding 1; no bias because batch norm follows."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """1x1 convolution: mixes channels, used by bottlenecks and projection shortcuts."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 conv + BN layers and a shortcut: ``relu(F(x) + shortcut(x))``.

    Same attributes as torchvision's ``BasicBlock``. ``downsample`` is the
    shortcut used when the shape changes (``None`` means the identity).
    With ``residual=False`` the block is the "plain" block of He et al.'s
    Fig. 3 (middle): the same layers and no shortcut at all. ``norm_layer``
    makes the normalisation layers (see :data:`NormLayer`). A block trusts
    its arguments: the network that builds it (or :class:`ResidualBlock`)
    has checked them.
    """

    expansion: int = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        residual: bool = True,
        norm_layer: NormLayer = nn.BatchNorm2d,
    ) -> None:
        super().__init__()
        self.residual = residual
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = _norm(norm_layer, planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = _norm(norm_layer, planes)
        self.downsample = downsample if residual else None
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))  # (N, planes, H/stride, W/stride)
        out = self.bn2(self.conv2(out))
        if self.residual:
            identity = x if self.downsample is None else self.downsample(x)
            out = out + identity  # y = F(x) + x: the residual connection
        return self.relu(out)


class Bottleneck(nn.Module):
    """1x1 (reduce) -> 3x3 -> 1x1 (expand by 4) with a shortcut, as in torchvision.

    The stride sits on the 3x3 convolution ("ResNet v1.5"), as in torchvision,
    whose ImageNet weights we load.
    """

    expansion: int = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        residual: bool = True,
        norm_layer: NormLayer = nn.BatchNorm2d,
    ) -> None:
        super().__init__()
        self.residual = residual
        width = planes
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = _norm(norm_layer, width)
        self.conv2 = conv3x3(width, width, stride)
        self.bn2 = _norm(norm_layer, width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = _norm(norm_layer, planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample if residual else None
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))  # (N, width, H, W)
        out = self.relu(self.bn2(self.conv2(out)))  # (N, width, H/stride, W/stride)
        out = self.bn3(self.conv3(out))  # (N, 4*planes, H/stride, W/stride)
        if self.residual:
            identity = x if self.downsample is None else self.downsample(x)
            out = out + identity
        return self.relu(out)


class PreActBlock(nn.Module):
    """He et al. (2016b)'s full pre-activation block: ``x + F(x)``, nothing after the sum.

    ``F(x) = conv2(relu(bn2(conv1(relu(bn1(x))))))``: batch norm and ReLU come
    *before* each convolution, so the shortcut carries ``x`` unchanged from
    block to block. When the shape changes, the shortcut ``downsample`` takes
    the pre-activated input ``relu(bn1(x))``, as in the authors' code
    (``both_preact`` in fb.resnet.torch's ``preresnet.lua``). ``bn1`` therefore
    normalises the block's *input* (``inplanes`` channels). ``residual=False``
    drops the shortcut (a plain network with the pre-activation ordering).
    """

    expansion: int = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        residual: bool = True,
        norm_layer: NormLayer = nn.BatchNorm2d,
    ) -> None:
        super().__init__()
        self.residual = residual
        self.bn1 = _norm(norm_layer, inplanes)
        self.relu = nn.ReLU()  # not in place: x itself travels on along the shortcut
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn2 = _norm(norm_layer, planes)
        self.conv2 = conv3x3(planes, planes)
        self.downsample = downsample if residual else None
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        pre = self.relu(self.bn1(x))  # (N, inplanes, H, W)
        out = self.conv1(pre)  # (N, planes, H/stride, W/stride)
        out = self.conv2(self.relu(self.bn2(out)))  # F(x)
        if not self.residual:
            return out
        shortcut = x if self.downsample is None else self.downsample(pre)
        return shortcut + out  # x_{l+1} = x_l + F(x_l): no ReLU after the addition


def _projection(
    in_channels: int, out_channels: int, stride: int, norm_layer: NormLayer = nn.BatchNorm2d
) -> nn.Sequential:
    """He et al.'s option B shortcut: 1x1 conv with stride, then batch norm."""
    return nn.Sequential(
        conv1x1(in_channels, out_channels, stride), _norm(norm_layer, out_channels)
    )


class ResidualBlock(BasicBlock):
    """The source article's block: ``ResidualBlock(in_channels, out_channels, stride=1)``.

    A :class:`BasicBlock` that builds its own shortcut: the identity when the
    shape is unchanged, a 1x1 conv + BN projection (option B) when ``stride``
    or the number of channels changes. ReLU comes after the addition.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        check(in_channels=in_channels, out_channels=out_channels, stride=stride)
        downsample = None
        if stride != 1 or in_channels != out_channels:
            downsample = _projection(in_channels, out_channels, stride)
        super().__init__(in_channels, out_channels, stride, downsample)


class PadShortcut(nn.Module):
    """He et al.'s option A shortcut: subsample by ``stride``, zero-pad new channels.

    It has no parameters, which is why the CIFAR models of Table 6 have the
    parameter counts they have.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride

    def forward(self, x: Tensor) -> Tensor:
        x = x[:, :, :: self.stride, :: self.stride]  # (N, C_in, H/s, W/s)
        extra = self.out_channels - self.in_channels
        # Pad the channel dimension: F.pad's last pair of numbers is dim 1 here.
        return nn.functional.pad(x, (0, 0, 0, 0, extra // 2, extra - extra // 2))

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, stride={self.stride}"


Block = type[BasicBlock] | type[Bottleneck] | type[PreActBlock]


def _make_layer(
    block: Block,
    inplanes: int,
    planes: int,
    blocks: int,
    stride: int = 1,
    *,
    residual: bool = True,
    norm_layer: NormLayer = nn.BatchNorm2d,
    shortcut: str = "B",
) -> nn.Sequential:
    """One stage: ``blocks`` blocks of ``planes`` channels (times ``block.expansion``), the
    first with ``stride`` and, where the shape changes, a shortcut that matches it.

    The shortcut is He et al.'s option B, a 1x1 projection with batch norm
    (a bare 1x1 convolution before a pre-activation block, whose ``bn1``
    normalises next), or option A (``shortcut="A"``, :class:`PadShortcut`).
    ImageNet ResNets and the CIFAR family are built from the same stages.
    """
    out = planes * block.expansion
    downsample: nn.Module | None = None
    if residual and (stride != 1 or inplanes != out):
        if shortcut == "A":
            downsample = PadShortcut(inplanes, out, stride)
        elif block is PreActBlock:  # He et al. 2016b: a bare 1x1 conv, the next block normalises
            downsample = conv1x1(inplanes, out, stride)
        else:
            downsample = _projection(inplanes, out, stride, norm_layer)
    first = block(inplanes, planes, stride, downsample, residual=residual, norm_layer=norm_layer)
    rest = [block(out, planes, residual=residual, norm_layer=norm_layer) for _ in range(1, blocks)]
    return nn.Sequential(first, *rest)


def _init_weights(model: nn.Module, zero_init_residual: bool) -> None:
    """torchvision's initialisation: He (fan_out) for convs, BN to (1, 0); with
    ``zero_init_residual``, the last batch norm of each residual branch to 0."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)
    if not zero_init_residual:
        return
    blocks = [m for m in model.modules() if isinstance(m, (BasicBlock, Bottleneck, PreActBlock))]
    if any(isinstance(m, PreActBlock) or isinstance(m.bn2, nn.Identity) for m in blocks):
        raise ValueError(
            "zero_init_residual zeroes the last batch norm of each residual branch: it needs a "
            "norm_layer (not None) and preact=False (a pre-activation branch ends with a conv)"
        )
    for m in blocks:
        if m.residual:  # a plain block has no shortcut: zeroing its branch would cut the network
            nn.init.constant_((m.bn3 if isinstance(m, Bottleneck) else m.bn2).weight, 0)


class ResNet(nn.Module):
    """The ImageNet ResNet of He et al., Table 1, in torchvision's layout.

    Args:
        block: :class:`BasicBlock` (ResNet-18/34) or :class:`Bottleneck` (50+).
        layers: number of blocks in each of the four stages.
        num_classes: outputs of the final linear layer ``fc``.
        in_channels: image channels (3 for RGB).
        zero_init_residual: start each residual branch's last BN at zero, so
            every block begins as the identity (Goyal et al., arXiv:1706.02677).
        residual: ``False`` removes every shortcut (the plain network).
        norm_layer: the normalisation layer (:data:`NormLayer`), as in
            torchvision; ``FrozenBatchNorm2d`` gives fixed statistics.
    """

    def __init__(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        layers: list[int],
        num_classes: int = 1000,
        in_channels: int = 3,
        zero_init_residual: bool = False,
        residual: bool = True,
        norm_layer: NormLayer = nn.BatchNorm2d,
    ) -> None:
        super().__init__()
        check(
            layers=layers,
            num_classes=num_classes,
            in_channels=in_channels,
            residual=residual,
            zero_init_residual=zero_init_residual,
        )
        stage = dict(residual=residual, norm_layer=norm_layer)
        e, self.residual = block.expansion, residual
        self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = _norm(norm_layer, 64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = _make_layer(block, 64, 64, layers[0], **stage)
        self.layer2 = _make_layer(block, 64 * e, 128, layers[1], stride=2, **stage)
        self.layer3 = _make_layer(block, 128 * e, 256, layers[2], stride=2, **stage)
        self.layer4 = _make_layer(block, 256 * e, 512, layers[3], stride=2, **stage)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * e, num_classes)
        _init_weights(self, zero_init_residual)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (N, 64, H/4, W/4)
        x = self.layer1(x)  # (N, 64e, H/4, W/4), e = block.expansion
        x = self.layer2(x)  # (N, 128e, H/8, W/8)
        x = self.layer3(x)  # (N, 256e, H/16, W/16)
        x = self.layer4(x)  # (N, 512e, H/32, W/32)
        x = torch.flatten(self.avgpool(x), 1)  # (N, 512e)
        return self.fc(x)  # (N, num_classes)


def resnet18(num_classes: int = 1000, **kwargs) -> ResNet:
    """ResNet-18: basic blocks [2, 2, 2, 2]; 11,689,512 parameters at 1000 classes."""
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes=num_classes, **kwargs)


def resnet34(num_classes: int = 1000, **kwargs) -> ResNet:
    """ResNet-34: basic blocks [3, 4, 6, 3]; 21,797,672 parameters at 1000 classes."""
    return ResNet(BasicBlock, [3, 4, 6, 3], num_classes=num_classes, **kwargs)


def resnet50(num_classes: int = 1000, **kwargs) -> ResNet:
    """ResNet-50: bottleneck blocks [3, 4, 6, 3]; 25,557,032 parameters at 1000 classes."""
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes=num_classes, **kwargs)


class CifarResNet(nn.Module):
    """He et al.'s CIFAR-10 network (Section 4.2): depth 6n+2, three stages.

    A 3x3 conv with ``width`` filters, then three stages of ``n`` basic blocks
    with ``width``, ``2*width`` and ``4*width`` filters (16/32/64 in the
    paper), the last two starting with stride 2, then global average pooling
    and a linear layer (:func:`cifar_resnet` builds it by depth).

    ``residual=False`` gives the plain network of the same depth (no shortcut
    anywhere). ``shortcut="A"`` (the paper's choice for CIFAR) pads with zeros
    and adds no parameters, matching Table 6: 0.27M parameters for ResNet-20;
    ``"B"`` uses 1x1 projections. ``width`` scales all three stages.
    ``norm_layer=None`` removes batch normalisation everywhere (the
    convolutions keep the He initialisation below, which then matters).

    With ``preact=True`` it is He et al. (2016b)'s pre-activation network:
    ``conv1`` alone (no batch norm or ReLU after it), stages of
    :class:`PreActBlock`, then ``bn_final`` and ``relu_final`` before the
    pooling. The same layers, rearranged: with option A it has exactly as
    many parameters (1.7M for ResNet-110).

    Every convolution starts from He initialisation, ``kaiming_normal_`` with
    ``mode="fan_out"`` as in torchvision, not from PyTorch's ``Conv2d``
    default; the linear layer keeps PyTorch's default.
    """

    def __init__(
        self,
        depth: int = 20,
        num_classes: int = 10,
        in_channels: int = 3,
        residual: bool = True,
        width: int = 16,
        shortcut: Literal["A", "B"] = "A",
        zero_init_residual: bool = False,
        norm_layer: NormLayer = nn.BatchNorm2d,
        preact: bool = False,
    ) -> None:
        super().__init__()
        check(
            depth=depth,
            num_classes=num_classes,
            in_channels=in_channels,
            residual=residual,
            width=width,
            shortcut=shortcut,
            zero_init_residual=zero_init_residual,
            preact=preact,
        )
        self.depth, self.preact, self.residual, self.shortcut = depth, preact, residual, shortcut
        n = (depth - 2) // 6
        block = PreActBlock if preact else BasicBlock
        stage = dict(residual=residual, norm_layer=norm_layer, shortcut=shortcut)
        self.conv1 = conv3x3(in_channels, width)
        if not preact:
            self.bn1 = _norm(norm_layer, width)
            self.relu = nn.ReLU(inplace=True)
        self.layer1 = _make_layer(block, width, width, n, stride=1, **stage)
        self.layer2 = _make_layer(block, width, 2 * width, n, stride=2, **stage)
        self.layer3 = _make_layer(block, 2 * width, 4 * width, n, stride=2, **stage)
        if preact:  # the last block's sum is not normalised yet: BN and ReLU before pooling
            self.bn_final = _norm(norm_layer, 4 * width)
            self.relu_final = nn.ReLU()
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(4 * width, num_classes)
        _init_weights(self, zero_init_residual)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv1(x)  # (N, w, H, W)
        if not self.preact:
            x = self.relu(self.bn1(x))
        x = self.layer1(x)  # (N, w, H, W)
        x = self.layer2(x)  # (N, 2w, H/2, W/2)
        x = self.layer3(x)  # (N, 4w, H/4, W/4)
        if self.preact:
            x = self.relu_final(self.bn_final(x))
        x = torch.flatten(self.avgpool(x), 1)  # (N, 4w)
        return self.fc(x)  # (N, num_classes)


def cifar_resnet(depth: int = 20, **kwargs: Any) -> CifarResNet:
    """ResNet-``depth`` of the CIFAR family (20, 32, 44, 56, 110, ...); the other arguments
    (``num_classes=10``, ``in_channels=3``, ``residual``, ``width=16``, ``shortcut="A"``,
    ``zero_init_residual``, ``norm_layer``, ``preact``) are :class:`CifarResNet`'s."""
    return CifarResNet(depth, **kwargs)


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (elements) in ``model``; optionally only trainable ones."""
    check(model=model)
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


# The ImageNet models by name; the CIFAR family is "resnetD" / "plainD" for any depth D = 6n+2.
ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {
    "resnet18": resnet18,
    "resnet34": resnet34,
    "resnet50": resnet50,
}
_CIFAR_NAME = re.compile(r"(resnet|plain)(\d+)")


def _is_cifar_depth(depth: int) -> bool:
    """He et al.'s 6n+2: n blocks of two layers in each of three stages, the first conv, fc."""
    return depth >= 8 and (depth - 2) % 6 == 0


def _cifar_depth(arch: str) -> int | None:
    match = _CIFAR_NAME.fullmatch(arch)
    if match is None or arch in ARCHITECTURES or not _is_cifar_depth(int(match.group(2))):
        return None
    return int(match.group(2))


def buildable(arch: str) -> bool:
    """Whether :func:`build_model` builds ``arch``, decided by name (the rule of ``arch``)."""
    return arch in ARCHITECTURES or _cifar_depth(arch) is not None


def build_model(
    arch: str,
    num_classes: int = 10,
    in_channels: int = 3,
    width: int = 16,
    norm_layer: NormLayer = nn.BatchNorm2d,
) -> nn.Module:
    """A model from its name, as the command lines spell it.

    ``"resnet20"`` (any 6n+2 depth) is the CIFAR family, ``"plain20"`` its
    plain twin, ``"resnet18"``/``"resnet34"``/``"resnet50"`` the ImageNet
    models (:data:`ARCHITECTURES`). ``width`` applies to the CIFAR family only.
    """
    check(arch=arch)
    if arch in ARCHITECTURES:
        return ARCHITECTURES[arch](
            num_classes=num_classes, in_channels=in_channels, norm_layer=norm_layer
        )
    return CifarResNet(
        _cifar_depth(arch),
        num_classes,
        in_channels,
        residual=arch.startswith("resnet"),
        width=width,
        norm_layer=norm_layer,
    )


def freeze_batch_norm(model: nn.Module) -> nn.Module:
    """Replace each ``nn.BatchNorm2d`` inside ``model``, in place, by torchvision's
    ``FrozenBatchNorm2d`` holding the same weight, bias, running statistics and eps; return
    ``model``.

    A frozen batch norm computes in every mode what batch norm computes in eval mode,
    ``(x - running_mean) / sqrt(running_var + eps) * weight + bias``, and has nothing to
    train or update: its four tensors are buffers. Nothing is rebuilt, so no random number
    is drawn. The same conversion as detectron2's ``FrozenBatchNorm2d.convert_frozen_batchnorm``.
    """
    from torchvision.ops.misc import FrozenBatchNorm2d

    check(model=model)
    for parent in list(model.modules()):
        for name, bn in list(parent.named_children()):
            if isinstance(bn, nn.BatchNorm2d):
                frozen = FrozenBatchNorm2d(bn.num_features, eps=bn.eps).train(bn.training)
                for key in ("weight", "bias", "running_mean", "running_var"):
                    if getattr(bn, key) is not None:  # no weight and bias when affine=False
                        setattr(frozen, key, getattr(bn, key).detach().clone())
                setattr(parent, name, frozen)
    return model
