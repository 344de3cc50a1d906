"""Figures used across the chapters: training curves and image grids.

Every function draws with matplotlib, returns the ``Figure`` (so notebooks can
save or test it) and never calls ``plt.show()`` itself.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from ._checks import check, check_as, shown
from .train import History

__all__ = [
    "plot_history",
    "show_images",
    "conv_animation",
    "animation_html",
    "plot_architecture",
    "LivePlot",
]


def plot_history(history: History | dict, title: str | None = None) -> Figure:
    """Loss (left) and accuracy (right) per epoch, training and validation."""
    if isinstance(history, dict):
        history = History.from_dict(history)
    if not isinstance(history, History) or history.num_epochs == 0:
        raise (ValueError if isinstance(history, History) else TypeError)(
            "history must be a History (returned by fit) or its dict, of at least one epoch; "
            f"got {shown(history)}"
        )
    epochs = np.arange(1, history.num_epochs + 1)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.2), layout="constrained")
    ax_loss.plot(epochs, history.train_loss, label="train")
    ax_acc.plot(epochs, history.train_acc, label="train")
    if not np.all(np.isnan(history.val_loss)):
        ax_loss.plot(epochs, history.val_loss, label="validation")
        ax_acc.plot(epochs, history.val_acc, label="validation")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy", ylim=(0, 1.01))
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return fig


class LivePlot:
    """A ``fit`` callback that redraws the loss and accuracy curves as training goes.

    In a notebook the figure updates in place (one output, not one per
    epoch); the rendered book keeps the last picture. Drawing and sending a
    figure costs the kernel about half a second (one per epoch added 13 s to
    chapter 6's 24 s of training), so with ``num_epochs`` (the run's epochs) it redraws at most once
    every ``every_seconds`` and always after the last epoch; without it,
    after every epoch. Usage::

        fit(model, train_loader, val_loader, config, callback=LivePlot(num_epochs=30))
    """

    def __init__(
        self, title: str | None = None, num_epochs: int | None = None, every_seconds: float = 5.0
    ) -> None:
        check(num_epochs=1 if num_epochs is None else num_epochs, every_seconds=every_seconds)
        self.title, self.num_epochs, self.every_seconds = title, num_epochs, every_seconds
        self.handle = None
        self.updates = 0  # figures drawn
        self.last_draw = -math.inf

    def __call__(self, history: History) -> None:
        from IPython.display import display

        now = time.perf_counter()
        if self.num_epochs is not None and history.num_epochs < self.num_epochs:
            if now - self.last_draw < self.every_seconds:
                return  # drawn recently; the last epoch is always drawn
        fig = plot_history(history, title=self.title)
        if self.handle is None:
            self.handle = display(fig, display_id=True)
        else:
            self.handle.update(fig)
        plt.close(fig)
        self.updates += 1
        self.last_draw = time.perf_counter()


def show_images(
    X: torch.Tensor | np.ndarray,
    labels: Sequence | None = None,
    ncols: int = 10,
    cmap: str = "gray_r",
    size: float = 1.0,
    title: str | None = None,
) -> Figure:
    """A grid of images ``X`` (N, C, H, W) or (N, H, W), each titled by ``labels``."""
    X = X.detach().cpu().numpy() if isinstance(X, torch.Tensor) else np.asarray(X)
    if X.ndim == 4:
        X = X.transpose(0, 2, 3, 1)  # (N, H, W, C) for imshow
        if X.shape[-1] == 1:
            X = X[..., 0]
    if X.ndim not in (3, 4) or len(X) == 0:
        raise ValueError(
            f"X must be a non-empty batch of images (N, C, H, W) or (N, H, W), got shape {X.shape}"
        )
    if labels is not None and len(labels) != len(X):
        raise ValueError(
            f"labels must have one entry per image: {len(labels)} labels for {len(X)} images"
        )
    ncols = min(check(ncols=ncols), len(X))
    nrows = int(np.ceil(len(X) / ncols))
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(size * ncols, size * nrows * 1.15),
        squeeze=False,
        layout="constrained",
    )
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= len(X):
            continue
        img = X[i]
        if img.ndim == 3:  # colour: rescale each image to [0, 1] for display
            img = (img - img.min()) / max(img.max() - img.min(), 1e-8)
        ax.imshow(img, cmap=cmap if img.ndim == 2 else None)
        if labels is not None:
            ax.set_title(str(labels[i]), fontsize=9)
    if title:
        fig.suptitle(title)
    return fig


def conv_animation(x: torch.Tensor, kernel: torch.Tensor, padding: int = 0, interval: int = 400):
    """A matplotlib animation of ``kernel`` sliding over the 2-D input ``x`` (stride 1).

    Each frame highlights one window of the (zero-padded) input and writes
    its multiply-and-sum into the output. Show it in a static page with
    ``HTML(anim.to_jshtml())``.
    """
    from matplotlib import animation
    from matplotlib.patches import Rectangle

    from .ops import conv2d_unfold

    for name, value in (("x", x), ("kernel", kernel)):  # (H, W) and (K_h, K_w)
        check_as("matrix", name, value)
    x = x.float()
    kernel = kernel.float()
    out = conv2d_unfold(x[None, None], kernel[None, None], padding=padding)[0, 0]  # checks sizes
    xp = torch.nn.functional.pad(x, (padding,) * 4).numpy()
    k_h, k_w = kernel.shape
    h_out, w_out = out.shape
    fig, (ax_in, ax_k, ax_out) = plt.subplots(
        1, 3, figsize=(9, 3.3), width_ratios=[xp.shape[1], k_w, w_out]
    )
    plt.close(fig)  # the animation is shown by to_jshtml, not as a static figure
    ax_in.imshow(xp, cmap="Blues", vmin=xp.min(), vmax=xp.max() + 1e-9)
    ax_k.imshow(kernel.numpy(), cmap="RdBu_r", vmin=-abs(kernel).max(), vmax=abs(kernel).max())
    for ax, grid in ((ax_in, xp), (ax_k, kernel.numpy())):
        for (i, j), v in np.ndenumerate(grid):
            ax.text(j, i, f"{v:g}", ha="center", va="center", fontsize=8)
    shown = np.full((h_out, w_out), np.nan)
    im_out = ax_out.imshow(
        shown, cmap="Greens", vmin=float(out.min()), vmax=float(out.max()) + 1e-9
    )
    texts = [
        [ax_out.text(j, i, "", ha="center", va="center", fontsize=8) for j in range(w_out)]
        for i in range(h_out)
    ]
    window = Rectangle((-0.5, -0.5), k_w, k_h, fill=False, edgecolor="red", linewidth=2.5)
    ax_in.add_patch(window)
    ax_in.set_title("input (padded)" if padding else "input")
    ax_k.set_title("kernel")
    ax_out.set_title("output")
    for ax in (ax_in, ax_k, ax_out):
        ax.set_xticks([]), ax.set_yticks([])

    def draw(frame: int):
        i, j = divmod(frame, w_out)
        window.set_xy((j - 0.5, i - 0.5))
        shown[i, j] = float(out[i, j])
        im_out.set_data(shown)
        texts[i][j].set_text(f"{float(out[i, j]):g}")
        return window, im_out, texts[i][j]

    anim = animation.FuncAnimation(fig, draw, frames=h_out * w_out, interval=interval, blit=False)
    # what animation_html gives a reader who cannot see it (the player's alt text)
    anim.description = (
        f"Animation in {h_out * w_out} frames: a red {k_h}x{k_w} window slides over the "
        f"{xp.shape[0]}x{xp.shape[1]} {'zero-padded ' if padding else ''}input (left), row by "
        f"row; each frame multiplies it by the kernel (middle), sums, and writes one value of "
        f"the {h_out}x{w_out} output (right)."
    )
    return anim


def plot_architecture(
    model: torch.nn.Module, input_shape: Sequence[int], title: str | None = None
) -> Figure:
    """A ResNet as a row of boxes (stem, every block, head) with its shortcuts drawn as arcs.

    Solid arcs are identity shortcuts, dashed arcs projections or zero-padding
    (where the shape changes). Each box shows the output shape of that part.
    Works for :class:`~resnet_utils.models.ResNet` and ``CifarResNet``.
    """
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    from .explain import residual_blocks, trace_shapes

    blocks = residual_blocks(model)
    if not blocks:
        raise ValueError("model has no residual blocks (BasicBlock/Bottleneck) to draw")
    stem = [n for n in ("conv1", "bn1", "relu", "maxpool") if hasattr(model, n)]
    names = [stem[-1]] + [n for n, _ in blocks] + ["fc"]
    shapes = dict(trace_shapes(model, torch.zeros(*input_shape), names))
    stages = sorted({n.split(".")[0] for n, _ in blocks})
    colors = dict(zip(stages, plt.get_cmap("Set2").colors))
    n_boxes = len(names)
    fig, ax = plt.subplots(figsize=(max(8, 0.62 * n_boxes + 1), 3.2), layout="constrained")
    for i, name in enumerate(names):
        shape = shapes[name]
        if name == names[0]:
            label, color = "stem", "#dddddd"
        elif name == "fc":
            label, color = "pool\n+ fc", "#dddddd"
        else:
            label, color = (
                name.split(".")[0].replace("layer", "stage "),
                colors[name.split(".")[0]],
            )
        ax.add_patch(
            FancyBboxPatch(
                (i - 0.36, -0.5),
                0.72,
                1.0,
                boxstyle="round,pad=0.02",
                facecolor=color,
                edgecolor="black",
            )
        )
        ax.text(
            i,
            0.12,
            label,
            ha="center",
            va="center",
            fontsize=7,
            rotation=90 if i and i < n_boxes - 1 else 0,
        )
        dims = "x".join(str(d) for d in shape[1:])
        ax.text(i, -0.68, dims, ha="center", va="top", fontsize=6, rotation=60)
        if i:
            ax.annotate("", (i - 0.38, 0), (i - 0.62, 0), arrowprops=dict(arrowstyle="->", lw=0.8))
    for i, (_, block) in enumerate(blocks, start=1):
        if not getattr(block, "residual", True):
            continue
        projection = block.downsample is not None
        ax.add_patch(
            FancyArrowPatch(
                (i - 0.62, 0.5),
                (i + 0.36, 0.5),
                connectionstyle="arc3,rad=-0.5",
                arrowstyle="->",
                mutation_scale=8,
                lw=1.0,
                linestyle="--" if projection else "-",
                color="tab:blue",
            )
        )
    ax.set_xlim(-0.7, n_boxes - 0.3)
    ax.set_ylim(-1.7, 1.45)
    ax.axis("off")
    ax.set_title(
        title
        or f"{type(model).__name__}: {len(blocks)} blocks; arcs are shortcuts "
        f"(dashed: the shape changes)",
        fontsize=9,
    )
    return fig


_BUTTON_SYMBOLS = {  # characters present in common system fonts (DejaVu, Arial, Segoe UI)
    "fa fa-minus": "&minus;",
    "fa fa-plus": "+",
    "fa fa-fast-backward": "&#x21E4;",
    "fa fa-step-backward": "&laquo;",
    "fa fa-play fa-flip-horizontal": "&#x25C0;",
    "fa fa-pause": "&#x275A;&#x275A;",
    "fa fa-play": "&#x25B6;",
    "fa fa-step-forward": "&raquo;",
    "fa fa-fast-forward": "&#x21E5;",
}


def animation_html(anim, alt: str | None = None) -> str:
    """An animation as self-contained JavaScript HTML (``to_jshtml``) that loads nothing from the web.

    Matplotlib's player links Font Awesome 4 from a CDN for its button icons;
    offline that link fails and the buttons are blank. This drops the link
    and draws the buttons with Unicode symbols instead. The frame gets ``alt`` as its
    alt text (default: the ``description`` conv_animation gives its animations) and the
    frame slider an accessible name.
    """
    import re
    from html import escape

    from matplotlib import animation

    if not isinstance(anim, animation.Animation):
        raise TypeError(f"anim must be a matplotlib Animation, got {type(anim).__name__}")
    html = re.sub(
        r'<link rel="stylesheet"\s*href="https://[^"]*font-awesome[^"]*">', "", anim.to_jshtml()
    )
    for cls, symbol in _BUTTON_SYMBOLS.items():
        html = html.replace(f'<i class="{cls}"></i>', symbol)
    # Screen readers: the frame has a description (conv_animation's, else alt) and the
    # frame slider a name. The description is English in both editions, so it says so.
    description = alt or getattr(anim, "description", None)
    if not description:
        raise ValueError("alt must describe the animation (conv_animation's has one)")
    html = re.sub(
        r'<img id="(_anim_img\w+)"',
        lambda m: f'<img id="{m.group(1)}" lang="en" alt="{escape(description, quote=True)}"',
        html,
        count=1,
    )
    return re.sub(r'<input id="(_anim_slider\w+)"', r'<input aria-label="frame" id="\1"', html)
