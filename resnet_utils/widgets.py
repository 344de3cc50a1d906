"""Interactive explorers (ipywidgets) whose logic is plain, testable Python.

Chapter 1 (:class:`ConvExplorer`), chapter 5 (:class:`AugmentExplorer`) and
chapter 7 (:class:`ThresholdExplorer`). Each explorer keeps its state in ordinary
attributes (``result``, ``size_text``) and redraws into an ``ipywidgets.Image``
holding a PNG; the tests drive the controls by setting their values.

Displayed, an explorer is one output with two views: the ipywidgets view,
which Jupyter shows and the kernel computes, and an HTML twin (``html()``,
built by :mod:`resnet_utils._twin` around ``static/explorers.js``), which the
rendered book shows and the browser computes, offline. The twin starts from
the explorer's current settings; tests/test_widgets_js.py and the browser test
check that its numbers equal the Python ones.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import torch
from matplotlib.figure import Figure

from ._checks import check, check_tensor
from ._twin import encode, twin_html
from .ops import classic_kernels, conv2d_unfold, conv_output_size

__all__ = [
    "ConvExplorer",
    "AugmentExplorer",
    "ThresholdExplorer",
    "augment",
    "sample_augment_params",
    "figure_png",
]


def figure_png(fig: Figure, dpi: int = 90) -> bytes:
    """Render a matplotlib figure to PNG bytes (without showing it).

    The explorers build ``matplotlib.figure.Figure`` objects directly: pyplot
    never holds them, so there is nothing to close.
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


class ConvExplorer:
    """Choose a kernel (or type its 9 values), a stride and a padding; see the output.

    Example::

        explorer = ConvExplorer(image)   # image: (H, W) tensor
        explorer                         # in a notebook: shows the controls
        explorer.kernel.value = "sobel_x"; explorer.stride.value = 2
        explorer.result.shape, explorer.size_text
    """

    def __init__(self, image: torch.Tensor, kernel: str = "sobel_x") -> None:
        import ipywidgets as w

        check_tensor("image", image, ndim=2, floating=True)
        kernels = classic_kernels()
        if kernel not in kernels:
            raise ValueError(f"kernel must be one of {sorted(kernels)}, got {kernel!r}")
        self.image = image.detach().cpu()
        self.kernels = kernels
        self._syncing = False
        self.kernel = w.Dropdown(
            options=list(kernels) + ["custom"], value=kernel, description="kernel"
        )
        self.cells = [w.FloatText(value=0.0, layout=w.Layout(width="64px")) for _ in range(9)]
        self.stride = w.IntSlider(value=1, min=1, max=4, description="stride")
        self.padding = w.IntSlider(value=0, min=0, max=3, description="padding")
        self.size_label = w.HTML()
        self.picture = w.Image(format="png")
        self.kernel.observe(self._on_kernel, names="value")
        for cell in self.cells:
            cell.observe(self._on_cell, names="value")
        self.stride.observe(lambda _: self.update(), names="value")
        self.padding.observe(lambda _: self.update(), names="value")
        self._on_kernel(None)

    @property
    def weight(self) -> torch.Tensor:
        """The 3x3 kernel currently in the grid of values."""
        return torch.tensor([c.value for c in self.cells], dtype=torch.float32).view(3, 3)

    def _on_kernel(self, _change) -> None:
        if self.kernel.value == "custom":
            return
        self._syncing = True  # filling the grid is not a custom edit
        for cell, v in zip(self.cells, self.kernels[self.kernel.value].flatten().tolist()):
            cell.value = v
        self._syncing = False
        self.update()

    def _on_cell(self, _change) -> None:
        if self._syncing:
            return
        named = self.kernel.value
        if named != "custom" and not torch.equal(self.weight, self.kernels[named]):
            self._syncing = True
            self.kernel.value = "custom"
            self._syncing = False
        self.update()

    def update(self) -> None:
        """Recompute the output and redraw; called by every control."""
        h, w = self.image.shape
        s, p = self.stride.value, self.padding.value
        self.output_size = (conv_output_size(h, 3, s, p), conv_output_size(w, 3, s, p))
        x = self.image[None, None]  # (1, 1, H, W)
        self.result = conv2d_unfold(x, self.weight[None, None], stride=s, padding=p)[0, 0]
        self.size_text = (
            f"input {h}x{w}, kernel 3x3, stride {s}, padding {p} "
            f"&rarr; output {self.output_size[0]}x{self.output_size[1]}"
        )
        self.size_label.value = self.size_text
        fig = Figure(figsize=(7, 3.4), layout="constrained")
        ax_in, ax_k, ax_out = fig.subplots(1, 3, width_ratios=[3, 1, 3])
        ax_in.imshow(self.image.numpy(), cmap="gray")
        ax_in.set_title(f"input {h}x{w}")
        ax_k.imshow(self.weight.numpy(), cmap="RdBu_r", vmin=-2, vmax=2)
        for (i, j), v in np.ndenumerate(self.weight.numpy()):
            ax_k.text(j, i, f"{v:g}", ha="center", va="center", fontsize=8)
        ax_k.set_title(self.kernel.value)
        ax_out.imshow(self.result.numpy(), cmap="gray")
        ax_out.set_title(f"output {self.output_size[0]}x{self.output_size[1]}")
        for ax in (ax_in, ax_k, ax_out):
            ax.set_xticks([]), ax.set_yticks([])
        self.picture.value = figure_png(fig)

    @property
    def widget(self):
        """The controls and the picture, laid out for display."""
        import ipywidgets as w

        grid = w.GridBox(self.cells, layout=w.Layout(grid_template_columns="repeat(3, 70px)"))
        controls = w.HBox([w.VBox([self.kernel, self.stride, self.padding]), grid])
        return w.VBox([controls, self.picture, self.size_label])

    def html(self) -> str:
        """The HTML twin: the same controls, computed in the browser (see the module docstring)."""
        h, w = self.image.shape
        data = {
            "image": encode(self.image.numpy(), "float32"),  # (H, W), row-major
            "height": h,
            "width": w,
            "kernel": self.kernel.value,
            "kernel_names": list(self.kernels),
            "kernels": {name: k.flatten().tolist() for name, k in self.kernels.items()},
            "weight": self.weight.flatten().tolist(),
            "stride": self.stride.value,
            "padding": self.padding.value,
        }
        return twin_html("conv", data, "Convolution explorer")

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return _bundle(self)


def _bundle(explorer) -> dict:
    """One output, two views: the live widget (Jupyter) and the HTML twin (the book)."""
    bundle = explorer.widget._repr_mimebundle_()
    bundle["text/html"] = explorer.html()
    return bundle


def sample_augment_params(
    settings: dict, height: int, width: int, num_samples: int, generator: torch.Generator
) -> list[dict]:
    """Draw the random parameters of ``num_samples`` augmentations, as torchvision draws them.

    ``settings`` holds the explorer's controls (``degrees``, ``translate``,
    ``scale``, ``flip``, ``crop_padding``, ``brightness``). Per sample: crop
    offsets in ``0..2p`` (``RandomCrop`` with padding ``p``), a flip with
    probability 0.5, an angle in ``[-degrees, degrees]``, a shift of whole
    pixels within ``translate`` of each side and a scale in ``[1 - s, 1 + s]``
    (``RandomAffine``), a brightness factor in ``[max(0, 1 - b), 1 + b]``
    (``ColorJitter``). :func:`augment` applies one set.
    """
    u = lambda lo, hi: lo + (hi - lo) * float(torch.rand((), generator=generator))
    out = []
    for _ in range(num_samples):
        p = int(settings["crop_padding"])
        params = {
            "padding": p,
            "top": p,
            "left": p,
            "flip": False,
            "angle": 0.0,
            "translate": [0, 0],
            "scale": 1.0,
            "brightness": 1.0,
        }
        if p:
            params["top"], params["left"] = (
                int(torch.randint(0, 2 * p + 1, (), generator=generator)) for _ in range(2)
            )
        if settings["flip"]:
            params["flip"] = bool(torch.rand((), generator=generator) < 0.5)
        degrees, t, s = settings["degrees"], settings["translate"], settings["scale"]
        if degrees or t or s:
            params["angle"] = u(-degrees, degrees)
            params["translate"] = [
                round(u(-t * width, t * width)),
                round(u(-t * height, t * height)),
            ]
            params["scale"] = u(1 - s, 1 + s)
        if settings["brightness"]:
            b = settings["brightness"]
            params["brightness"] = u(max(0.0, 1 - b), 1 + b)
        out.append(params)
    return out


def augment(image: torch.Tensor, params: dict) -> torch.Tensor:  # image checked by its explorer
    """One augmentation of ``image`` (C, H, W) in [0, 1] with given parameters.

    The steps of :attr:`AugmentExplorer.transform`, with its random draws
    replaced by ``params`` (from :func:`sample_augment_params`): pad with
    zeros and crop back at ``(top, left)``, flip, rotate/shift/scale about the
    centre (bilinear, fill 0), multiply the brightness (clamped to [0, 1]).
    The book's copy in the browser (``static/explorers.js``) does the same.
    """
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms.v2 import functional as TF

    h, w = image.shape[-2:]
    x = image
    if params["padding"]:
        x = TF.crop(TF.pad(x, [params["padding"]]), params["top"], params["left"], h, w)
    if params["flip"]:
        x = TF.horizontal_flip(x)
    if params["angle"] != 0 or any(params["translate"]) or params["scale"] != 1:
        x = TF.affine(
            x,
            angle=params["angle"],
            translate=list(params["translate"]),
            scale=params["scale"],
            shear=[0.0, 0.0],
            interpolation=InterpolationMode.BILINEAR,
            fill=0.0,  # RandomAffine's default: the sample is weighted by a mask of ones
        )
    if params["brightness"] != 1:
        x = TF.adjust_brightness(x, params["brightness"])
    return x


class AugmentExplorer:
    """Random augmentations of one image: move the sliders, see a grid of samples.

    The controls (rotation, shift, scale, horizontal flip, random crop with
    padding, brightness) describe a :mod:`torchvision.transforms.v2` pipeline,
    :attr:`transform`. ``samples`` holds ``num_samples`` draws: the parameters
    come from :func:`sample_augment_params` with a generator seeded by
    ``seed`` (the same settings give the same grid) and :func:`augment`
    applies them. Rotation uses bilinear interpolation, so that the book's
    copy in the browser agrees with torchvision to float rounding.
    ``image`` is ``(C, H, W)`` in [0, 1].
    """

    def __init__(self, image: torch.Tensor, num_samples: int = 8, seed: int = 0) -> None:
        import ipywidgets as w

        check_tensor("image", image, ndim=3, floating=True)
        check(num_samples=num_samples, seed=seed)
        self.image = image.detach().cpu()
        self.num_samples, self.seed = num_samples, seed
        style = {"description_width": "90px"}
        self.degrees = w.FloatSlider(
            value=0, min=0, max=180, step=5, description="rotation (deg)", style=style
        )
        self.translate = w.FloatSlider(
            value=0, min=0, max=0.3, step=0.05, description="shift (frac)", style=style
        )
        self.scale = w.FloatSlider(
            value=0, min=0, max=0.5, step=0.05, description="scale (+-)", style=style
        )
        self.flip = w.Checkbox(value=False, description="horizontal flip (p=0.5)")
        self.crop_padding = w.IntSlider(
            value=0, min=0, max=8, description="crop padding", style=style
        )
        self.brightness = w.FloatSlider(
            value=0, min=0, max=0.8, step=0.1, description="brightness", style=style
        )
        self.picture = w.Image(format="png")
        for control in self._controls:
            control.observe(lambda _: self.update(), names="value")
        self.update()

    @property
    def _controls(self) -> tuple:
        return (
            self.degrees,
            self.translate,
            self.scale,
            self.flip,
            self.crop_padding,
            self.brightness,
        )

    @property
    def settings(self) -> dict:
        """The controls' values, by name."""
        return {
            "degrees": float(self.degrees.value),
            "translate": float(self.translate.value),
            "scale": float(self.scale.value),
            "flip": bool(self.flip.value),
            "crop_padding": int(self.crop_padding.value),
            "brightness": float(self.brightness.value),
        }

    @property
    def transform(self):
        """The v2 pipeline the controls describe (what you would put in a dataset)."""
        from torchvision.transforms import InterpolationMode, v2

        s = self.settings
        steps = []
        if s["crop_padding"]:
            steps.append(v2.RandomCrop(self.image.shape[-2:], padding=s["crop_padding"]))
        if s["flip"]:
            steps.append(v2.RandomHorizontalFlip(p=0.5))
        if s["degrees"] or s["translate"] or s["scale"]:
            t, k = s["translate"], s["scale"]
            steps.append(
                v2.RandomAffine(
                    degrees=s["degrees"],
                    translate=(t, t) if t else None,
                    scale=(1 - k, 1 + k) if k else None,
                    interpolation=InterpolationMode.BILINEAR,
                )
            )
        if s["brightness"]:
            steps.append(v2.ColorJitter(brightness=s["brightness"]))
        return v2.Compose(steps) if steps else v2.Identity()

    def update(self) -> None:
        """Draw new samples with the current settings and redraw the grid."""
        generator = torch.Generator().manual_seed(self.seed)  # same settings, same grid
        h, w = self.image.shape[-2:]
        self.params = sample_augment_params(self.settings, h, w, self.num_samples, generator)
        self.samples = torch.stack([augment(self.image, p) for p in self.params]).clamp(0, 1)
        cols = min(self.num_samples, 4)
        rows = -(-self.num_samples // cols)
        fig = Figure(figsize=(1.8 * cols, 1.9 * rows), layout="constrained")
        for i, ax in enumerate(fig.subplots(rows, cols, squeeze=False).flat):
            ax.axis("off")
            if i < self.num_samples:
                img = self.samples[i].permute(1, 2, 0).numpy()
                gray = img.shape[-1] == 1
                ax.imshow(
                    img[..., 0] if gray else img, cmap="gray_r" if gray else None, vmin=0, vmax=1
                )
        self.picture.value = figure_png(fig)

    @property
    def widget(self):
        import ipywidgets as w

        controls = w.VBox(list(self._controls))
        return w.VBox([controls, self.picture])

    def html(self) -> str:
        """The HTML twin: the same controls, computed in the browser (see the module docstring).

        The browser draws its own parameters (its own seeded generator), so
        its grid differs from ``samples``; each sample equals
        ``augment(image, params)`` for the parameters it shows.
        """
        c, h, w = self.image.shape
        data = {
            "image": encode(self.image.numpy(), "float32"),  # (C, H, W), row-major
            "channels": c,
            "height": h,
            "width": w,
            "num_samples": self.num_samples,
            "seed": self.seed % 2**32,
            "settings": self.settings,
        }
        return twin_html("augment", data, "Augmentation explorer")

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return _bundle(self)


class ThresholdExplorer:
    """One class against the rest: move the threshold, see TPR, FPR and precision.

    An example counts as predicted positive when its probability for
    ``positive_class`` is at least the threshold. The picture shows the
    one-vs-rest ROC and precision-recall curves with the current operating
    point; ``tpr``, ``fpr``, ``precision`` and ``counts`` hold the numbers
    (the counts are scikit-learn's ``confusion_matrix`` of the binarised problem).
    """

    def __init__(
        self,
        y_true,
        y_prob,
        positive_class: int = 0,
        threshold: float = 0.5,
        class_names: list[str] | None = None,
    ) -> None:
        import ipywidgets as w
        from sklearn.metrics import confusion_matrix, precision_recall_curve, roc_curve

        from .metrics import labels_and_probs

        self.y_true, self.y_prob = labels_and_probs(y_true, y_prob)
        k = self.y_prob.shape[1]
        names = class_names or [str(c) for c in range(k)]
        if len(names) != k:
            raise ValueError(f"class_names must have {k} entries, got {len(names)}")
        if not isinstance(positive_class, int) or not 0 <= positive_class < k:
            raise ValueError(
                f"positive_class must be an int in 0..{k - 1}, got {positive_class!r}"
            )
        self.class_names = list(names)
        self._roc_curve, self._pr_curve = roc_curve, precision_recall_curve
        self._confusion_matrix = confusion_matrix
        self.positive = w.Dropdown(
            options=[(n, i) for i, n in enumerate(names)],
            value=positive_class,
            description="class",
        )
        self.threshold = w.FloatSlider(
            value=threshold,
            min=0.0,
            max=1.0,
            step=0.01,
            description="threshold",
            readout_format=".2f",
        )
        self.label = w.HTML()
        self.picture = w.Image(format="png")
        self.positive.observe(lambda _: self.update(), names="value")
        self.threshold.observe(lambda _: self.update(), names="value")
        self.update()

    def update(self) -> None:
        """Recompute the operating point and redraw."""
        c, t = self.positive.value, self.threshold.value
        actual = self.y_true == c
        score = self.y_prob[:, c]
        predicted = score >= t
        matrix = self._confusion_matrix(actual, predicted, labels=[False, True])
        tn, fp, fn, tp = (int(n) for n in matrix.ravel())  # rows: actual; columns: predicted
        self.counts = {"tp": tp, "fp": fp, "fn": fn, "tn": tn}
        self.tpr = tp / (tp + fn) if tp + fn else float("nan")
        self.fpr = fp / (fp + tn) if fp + tn else float("nan")
        self.precision = tp / (tp + fp) if tp + fp else float("nan")
        self.label.value = (
            f"threshold {t:.2f}: TP {tp}, FP {fp}, FN {fn}, TN {tn} &mdash; "
            f"TPR (recall) {self.tpr:.3f}, FPR {self.fpr:.4f}, "
            f"precision {self.precision:.3f}"
        )
        fig = Figure(figsize=(8, 3.4), layout="constrained")
        ax_roc, ax_pr = fig.subplots(1, 2)
        fpr, tpr, _ = self._roc_curve(actual, score)
        prec, rec, _ = self._pr_curve(actual, score)
        ax_roc.plot(fpr, tpr)
        ax_roc.plot([0, 1], [0, 1], ls=":", color="gray")
        ax_roc.plot([self.fpr], [self.tpr], "o", color="red")
        ax_roc.set(
            xlabel="false-positive rate",
            ylabel="true-positive rate",
            title=f"ROC, class {self.positive.label} vs rest",
        )
        ax_pr.plot(rec, prec)
        if tp + fp:
            ax_pr.plot([self.tpr], [self.precision], "o", color="red")
        ax_pr.set(xlabel="recall", ylabel="precision", title="precision-recall", ylim=(0, 1.02))
        self.picture.value = figure_png(fig)

    @property
    def widget(self):
        import ipywidgets as w

        return w.VBox([w.HBox([self.positive, self.threshold]), self.label, self.picture])

    def html(self) -> str:
        """The HTML twin: the same controls, computed in the browser (see the module docstring).

        It carries the labels, the probabilities (float64, so that ``>=`` at a
        threshold decides as here) and scikit-learn's ROC and precision-recall
        curves of every class; the browser counts TP, FP, FN, TN at the threshold.
        """
        curves = []
        for c in range(self.y_prob.shape[1]):
            actual, score = self.y_true == c, self.y_prob[:, c]
            with warnings.catch_warnings():  # a class absent from y_true: NaN rates, drawn as gaps
                warnings.filterwarnings("ignore", message="No positive")
                fpr, tpr, _ = self._roc_curve(actual, score)
                prec, rec, _ = self._pr_curve(actual, score)
            curves.append(
                {
                    "fpr": encode(fpr, "float32"),
                    "tpr": encode(tpr, "float32"),
                    "recall": encode(rec, "float32"),
                    "precision": encode(prec, "float32"),
                }
            )
        data = {
            "labels": encode(self.y_true, "int32"),
            "probs": encode(self.y_prob, "float64"),  # (N, K), row-major
            "num_classes": int(self.y_prob.shape[1]),
            "class_names": self.class_names,
            "positive_class": int(self.positive.value),
            "threshold": float(self.threshold.value),
            "curves": curves,
        }
        return twin_html("threshold", data, "Threshold explorer")

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return _bundle(self)
