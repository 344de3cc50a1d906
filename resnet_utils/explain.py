"""Looking inside a network: its shapes and blocks, feature maps, Grad-CAM, saliency, block
deletion, loss landscapes.

Chapters 4, 8 and 9. :func:`trace_shapes`, :func:`residual_blocks` and
:func:`backbone_features` say what a network is made of and what its
classifier sees (chapters 4 and 9); then five tools, each small enough to read
in one sitting (chapter 8):

- :func:`feature_maps`: what chosen layers output, captured with forward hooks;
- :func:`grad_cam`: class activation maps from the gradients of a class score
  with respect to a layer's activations (Selvaraju et al. 2017);
- :func:`saliency`: the gradient of a class score with respect to the input
  pixels (Simonyan et al. 2014);
- :func:`without_blocks`: a copy of a network with some residual blocks
  replaced by their shortcut, the "lesion" experiment of Veit et al. (2016);
- :func:`random_direction` and :func:`loss_landscape`: the loss along
  filter-normalised random directions around the trained weights (Li et al.
  2018).

The tests check Grad-CAM and saliency against Captum (``captum.attr``), a
maintained interpretability library; the package itself does not need it.

References
    Selvaraju et al. (2017). Grad-CAM: Visual Explanations from Deep Networks
    via Gradient-based Localization. ICCV. arXiv:1610.02391.
    Simonyan, Vedaldi, Zisserman (2014). Deep Inside Convolutional Networks:
    Visualising Image Classification Models and Saliency Maps. arXiv:1312.6034.
    Adebayo et al. (2018). Sanity Checks for Saliency Maps. NeurIPS.
    arXiv:1810.03292.
    Veit, Wilber, Belongie (2016). Residual Networks Behave Like Ensembles of
    Relatively Shallow Networks. NeurIPS. arXiv:1605.06431.
    Li, Xu, Taylor, Studer, Goldstein (2018). Visualizing the Loss Landscape
    of Neural Nets. NeurIPS. arXiv:1712.09913.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._checks import check, check_as, shown
from .models import BasicBlock, Bottleneck, PadShortcut, PreActBlock
from .runtime import eval_mode

__all__ = [
    "trace_shapes",
    "residual_blocks",
    "backbone_features",
    "Bypass",
    "feature_maps",
    "grad_cam",
    "loss_landscape",
    "random_direction",
    "saliency",
    "without_blocks",
]

Direction = dict[str, Tensor]  # parameter name -> a tensor of the parameter's shape


def trace_shapes(
    model: nn.Module, x: Tensor, names: list[str] | None = None
) -> list[tuple[str, tuple[int, ...]]]:
    """Output shape of each module in ``names`` (default: the model's top-level children).

    Uses forward hooks, so the shapes are the ones the real forward pass
    produces; a module called twice is listed twice. Runs in eval mode
    without gradients and restores the model's mode.
    """
    check(model=model, x=x)
    names = names if names is not None else [n for n, _ in model.named_children()]
    modules = {n: _resolve_layer(model, n) for n in names}
    trace: list[tuple[str, tuple[int, ...]]] = []
    hooks = [
        modules[n].register_forward_hook(
            lambda _m, _i, out, n=n: trace.append((n, tuple(out.shape)))
        )
        for n in names
    ]
    try:
        with eval_mode(model), torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    return trace


def residual_blocks(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The ``(name, block)`` pairs of a ResNet's blocks, in forward order."""
    check(model=model)
    blocks = (BasicBlock, Bottleneck, PreActBlock)
    return [(n, m) for n, m in model.named_modules() if isinstance(m, blocks)]


def backbone_features(model: nn.Module, X: Tensor) -> Tensor:
    """What the classifier ``model.fc`` receives for images ``X``: ``(N, F)`` features.

    Computed in eval mode (batch norm with its running statistics) without
    gradients; the model's modes are restored afterwards. ``X`` must already
    be normalised (``splits.normalize(X)``).
    """
    check_as("classifier", "model", model)
    check(X=X)
    captured: list[Tensor] = []
    hook = model.fc.register_forward_hook(lambda _m, inputs, _out: captured.append(inputs[0]))
    try:
        with eval_mode(model), torch.no_grad():
            model(X)
    finally:
        hook.remove()
    return captured[0]


def _device(model: nn.Module) -> torch.device:
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def _resolve_layer(model: nn.Module, layer: str | nn.Module) -> nn.Module:
    """The module ``layer`` names (``"layer3"``, ``"layer2.0.conv1"``) or is, inside ``model``."""
    modules = dict(model.named_modules())
    if isinstance(layer, str):
        found, what = (modules.get(layer) if layer else None), repr(layer)
    else:  # a module (the rule of ``layer``)
        found = layer if any(m is layer for m in modules.values()) else None
        what = f"({type(layer).__name__})"
    if found is None:
        known = [n for n in modules if n][:12]
        raise ValueError(f"layer {what} is not a module of the model; known names include {known}")
    return found


def _targets(target: Any, logits: Tensor) -> Tensor:
    """Class indices ``(N,)``: ``None`` = the predicted class, an int for all, or one per image."""
    n, num_classes = logits.shape
    if target is None:
        return logits.argmax(dim=1)
    t = torch.as_tensor(target, device=logits.device)
    t = t.expand(n) if t.ndim == 0 else t  # one class for every image
    integers = not (isinstance(target, bool) or t.is_floating_point() or t.dtype == torch.bool)
    if not integers or t.shape != (n,) or (n and (t.min() < 0 or t.max() >= num_classes)):
        raise ValueError(
            f"target must be None, a class index or one class index per image ({n}), "
            f"each in [0, {num_classes - 1}]; got {shown(target)}"
        )
    return t.long()


def feature_maps(
    model: nn.Module, X: Tensor, layers: Sequence[str] | None = None
) -> dict[str, Tensor]:
    """What each layer in ``layers`` outputs for images ``X``, by name, in the order given.

    ``layers`` are module names as in ``model.named_modules()`` (default: the
    model's top-level children, e.g. ``conv1, bn1, relu, layer1, ..., fc``).
    Forward hooks capture copies of the outputs, so a later in-place ReLU does
    not change them. Runs in eval mode without gradients and restores the
    model's modes. A module called twice keeps its last output.
    """
    check(model=model, X=X)
    check_as("module_names", "layers", layers)
    names = list(layers) if layers is not None else [n for n, _ in model.named_children()]
    modules = {name: _resolve_layer(model, name) for name in names}
    captured: dict[str, Tensor] = {}

    def hook(name: str) -> Callable[..., None]:
        def capture(_module: nn.Module, _inputs: Any, output: Any) -> None:
            if not isinstance(output, Tensor):
                raise TypeError(
                    f"layer {name!r} outputs a {type(output).__name__}, "
                    f"not a tensor: choose another layer"
                )
            captured[name] = output.detach().clone()

        return capture

    handles = [m.register_forward_hook(hook(n)) for n, m in modules.items()]
    try:
        with eval_mode(model), torch.no_grad():
            model(X.to(_device(model)))
    finally:
        for h in handles:
            h.remove()
    return {name: captured[name] for name in names}


def grad_cam(
    model: nn.Module,
    layer: str | nn.Module,
    X: Tensor,
    target: int | Sequence[int] | Tensor | None = None,
    *,
    upsample: bool = True,
    score: str = "logit",
    pool: str = "mean",
    relu: bool = True,
    mode: str = "bilinear",
) -> Tensor:
    """Grad-CAM maps ``(N, H, W)`` for images ``X`` (N, C, H, W) and classes ``target``.

    With ``A`` the activations ``(N, K, h, w)`` of ``layer`` and ``y`` the
    class score (the logit of ``target``; ``None``: the predicted class)::

        alpha_k = mean over (i, j) of dy / dA_k[i, j]   # one weight per channel
        map = ReLU(sum_k alpha_k * A_k)                  # (N, h, w)

    then bilinear upsampling to the input's ``H x W`` (``upsample=False``
    keeps ``h x w``). The last stage (``"layer3"`` of a CIFAR ResNet,
    ``"layer4"`` of an ImageNet one) is the usual choice; a layer that runs
    more than once contributes its last call. Eval mode; the model's modes
    and gradients are left as they were.

    The other choices a Grad-CAM could make, for comparison (chapter 8's
    exercise checker names a student's by them): ``score="softmax"`` (the
    gradient of the probability), ``pool="sum"`` (summed, not averaged,
    gradients), ``pool="none"`` (gradient times activation position by
    position, as HiResCAM), ``relu=False``, ``mode="nearest"``.
    """
    check(model=model, X=X, layer=layer, score=score, pool=pool, mode=mode)
    module = _resolve_layer(model, layer)
    X = X.detach().to(_device(model)).requires_grad_(True)  # a graph even if weights are frozen
    captured: list[Tensor] = []

    def capture(_module: nn.Module, _inputs: Any, output: Any) -> Tensor | None:
        captured.append(output)
        # A later in-place op (an inplace ReLU) then changes the clone, not A.
        return output.clone() if isinstance(output, Tensor) else None

    handle = module.register_forward_hook(capture)
    try:
        with eval_mode(model), torch.enable_grad():
            logits = model(X)  # (N, num_classes)
            A = captured[-1] if captured else "nothing: it was not called in the forward pass"
            if not isinstance(A, Tensor) or A.ndim != 4:  # the last call if it runs twice
                raise ValueError(
                    f"layer must output a 4-D (N, K, h, w) feature map, got {shown(A)}: "
                    f"choose a convolutional layer or stage"
                )
            outputs = logits.softmax(1) if score == "softmax" else logits
            scores = outputs.gather(1, _targets(target, logits)[:, None]).sum()
            (grads,) = torch.autograd.grad(scores, A)  # (N, K, h, w)
    finally:
        handle.remove()
    if pool == "none":
        cam = (grads * A).sum(dim=1, keepdim=True)  # (N, 1, h, w)
    else:
        alpha = grads.sum((2, 3), keepdim=True) if pool == "sum" else grads.mean((2, 3), True)
        cam = (alpha * A).sum(dim=1, keepdim=True)  # alpha (N, K, 1, 1) -> (N, 1, h, w)
    cam = (F.relu(cam) if relu else cam).detach()
    if upsample:
        cam = F.interpolate(cam, size=X.shape[-2:], mode=mode)  # (N, 1, H, W)
    return cam[:, 0]


def saliency(
    model: nn.Module, X: Tensor, target: int | Sequence[int] | Tensor | None = None
) -> Tensor:
    """Gradient saliency maps ``(N, H, W)``: ``max over channels |d score / d X|``.

    Simonyan et al.'s map: how much a small change of each pixel changes the
    class score (the logit of ``target``; ``None``: the predicted class).
    Eval mode; the model's modes are restored.
    """
    check(model=model, X=X)
    X = X.detach().to(_device(model)).requires_grad_(True)
    with eval_mode(model), torch.enable_grad():
        logits = model(X)  # (N, num_classes)
        scores = logits.gather(1, _targets(target, logits)[:, None]).sum()
        (grads,) = torch.autograd.grad(scores, X)  # (N, C, H, W)
    return grads.abs().amax(dim=1)


class Bypass(nn.Module):
    """A deleted block: ``ReLU(shortcut(x))``, the block with its residual branch removed.

    For a residual block the shortcut is its own (the identity, or its
    ``downsample``). A plain block has none: it gets the identity, or, where
    the shape changes, He et al.'s parameter-free option A (subsample and
    zero-pad, :class:`~resnet_utils.models.PadShortcut`), so that both
    kinds of network lose a block in the same way.
    """

    def __init__(self, shortcut: nn.Module) -> None:
        super().__init__()
        self.shortcut = shortcut

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.shortcut(x))


def _shortcut(block: nn.Module) -> nn.Module:
    if getattr(block, "residual", True) and block.downsample is not None:
        return block.downsample
    last = block.conv3 if isinstance(block, Bottleneck) else block.conv2
    in_c, out_c, stride = block.conv1.in_channels, last.out_channels, block.stride
    if in_c == out_c and stride == 1:
        return nn.Identity()
    return PadShortcut(in_c, out_c, stride)


def without_blocks(model: nn.Module, blocks: Iterable[int]) -> nn.Module:
    """A copy of ``model`` in which the blocks numbered ``blocks`` are replaced by :class:`Bypass`.

    Blocks are numbered from 0 in forward order, as listed by
    :func:`residual_blocks` (ResNet-20: 0-8, three
    per stage; 3 and 6 start a stage and downsample). ``model`` is not
    changed; the copy keeps its device and modes. An empty ``blocks`` gives
    an unchanged copy.
    """
    _, indices = check(model=model, blocks=blocks)
    found = residual_blocks(model)
    for i, b in enumerate(indices):
        if b >= len(found):
            raise ValueError(
                f"blocks[{i}] = {b} is out of range: the model has {len(found)} "
                f"residual blocks (BasicBlock or Bottleneck)"
                + (f", numbered 0 to {len(found) - 1}" if found else "")
            )
    copied = copy.deepcopy(model)
    modules = dict(copied.named_modules())
    for b in sorted(set(indices)):
        name = found[b][0]
        parent_name, _, child = name.rpartition(".")
        bypass = Bypass(_shortcut(modules[name])).train(modules[name].training)
        setattr(modules[parent_name] if parent_name else copied, child, bypass)
    return copied


def random_direction(model: nn.Module, seed: int = 0) -> Direction:
    """A filter-normalised random direction in ``model``'s parameter space (Li et al. 2018).

    For every weight with two or more dimensions (convolutions, linear
    layers), a Gaussian random tensor whose every filter (slice along dim 0)
    is rescaled to the norm of the same filter of the weights:
    ``d_i <- d_i / ||d_i|| * ||w_i||``. Biases and batch-norm parameters get
    zeros, as in Li et al.'s experiments (batch-norm statistics are buffers and
    never move). Seeded: the same ``seed`` gives the same direction.
    """
    check(model=model, seed=seed)
    g = torch.Generator().manual_seed(seed)
    direction: Direction = {}
    for name, w in model.named_parameters():
        if w.ndim <= 1:
            direction[name] = torch.zeros_like(w, requires_grad=False)
            continue
        d = torch.randn(w.shape, generator=g, dtype=w.dtype).to(w.device)
        d_norm = d.flatten(1).norm(dim=1).view(-1, *[1] * (w.ndim - 1))
        w_norm = w.detach().flatten(1).norm(dim=1).view(-1, *[1] * (w.ndim - 1))
        direction[name] = d * w_norm / (d_norm + 1e-10)
    return direction


@torch.no_grad()
def loss_landscape(
    model: nn.Module,
    loss_fn: Callable[[Tensor, Tensor], Tensor],
    loader: Iterable[tuple[Tensor, Tensor]],
    directions: Direction | Sequence[Direction],
    alphas: Sequence[float] | Tensor,
) -> Tensor:
    """The mean loss at ``theta + a * d1`` (1-D) or ``theta + a * d1 + b * d2`` (2-D).

    Args:
        model: the trained network; ``theta`` are its parameters. It is not
            changed (a copy moves), and it is evaluated in eval mode.
        loss_fn: ``loss_fn(logits, y)``, the mean loss of a batch
            (``F.cross_entropy``).
        loader: batches ``(X, y)``, e.g. a DataLoader; iterated once per point,
            so a few hundred images in large batches keep this fast.
        directions: one direction (a dict from :func:`random_direction`) or
            a sequence of one or two.
        alphas: the step sizes along each direction (the same for both axes).

    Returns:
        ``(len(alphas),)`` losses for one direction; ``(len(alphas),
        len(alphas))`` for two, with ``[i, j]`` at ``alphas[i] * d1 +
        alphas[j] * d2``. Each loss is the mean over all examples.
    """
    dirs = [directions] if isinstance(directions, dict) else directions
    alphas = alphas.tolist() if isinstance(alphas, Tensor) else alphas
    *_, dirs, alphas = check(
        model=model, loss_fn=loss_fn, batches=loader, directions=dirs, alphas=alphas
    )
    probe = copy.deepcopy(model).eval()
    params = dict(probe.named_parameters())
    shapes = {n: tuple(p.shape) for n, p in params.items()}
    for i, d in enumerate(dirs):
        got = {n: tuple(v.shape) if isinstance(v, Tensor) else None for n, v in d.items()}
        if got != shapes:
            wrong = sorted(set(shapes) ^ set(got)) or [n for n in shapes if got[n] != shapes[n]]
            raise ValueError(
                f"directions[{i}] does not match the model's parameters (random_direction(model) "
                f"makes one): {wrong[0]!r} is missing, unknown or not of the parameter's shape"
            )
    theta = {n: p.detach().clone() for n, p in params.items()}
    device = _device(probe)

    def loss_at(steps: tuple[float, ...]) -> float:
        for n, p in params.items():
            p.copy_(theta[n] + sum(a * d[n].to(device) for a, d in zip(steps, dirs)))
        total, count = 0.0, 0
        for X, y in loader:
            X, y = X.to(device), y.to(device)
            total += float(loss_fn(probe(X), y)) * len(y)
            count += len(y)
        if count == 0:
            raise ValueError("loader yielded no examples")
        return total / count

    if len(dirs) == 1:
        return torch.tensor([loss_at((a,)) for a in alphas])
    return torch.tensor([[loss_at((a, b)) for b in alphas] for a in alphas])
