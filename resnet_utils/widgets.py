"""Interactive explorers (ipywidgets) whose logic is plain, testable Python.

Chapter 1 (:class:`ConvExplorer`), chapter 5 (:class:`AugmentExplorer`) and
chapter 7 (:class:`ThresholdExplorer`). Each explorer keeps its state in ordinary
attributes (``result``, ``size_text``) and redraws into an ``ipywidgets.Image``
holding a PNG, so the rendered book shows the last picture even without a
running kernel, and the tests drive the controls by setting their values.
"""

from __future__ import annotations

import io

import matplotlib
import numpy as np
import torch
from matplotlib.figure import Figure

from ._checks import check_tensor
from .ops import classic_kernels, conv2d_unfold, conv_output_size

__all__ = ["ConvExplorer", "AugmentExplorer", "ThresholdExplorer", "figure_png"]


def figure_png(fig: Figure, dpi: int = 90) -> bytes:
    """Render a matplotlib figure to PNG bytes (without showing it)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    matplotlib.pyplot.close(fig)
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
        self.kernel = w.Dropdown(options=list(kernels) + ["custom"], value=kernel,
                                 description="kernel")
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
        self.size_text = (f"input {h}x{w}, kernel 3x3, stride {s}, padding {p} "
                          f"&rarr; output {self.output_size[0]}x{self.output_size[1]}")
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

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


class AugmentExplorer:
    """Random augmentations of one image: move the sliders, see a grid of samples.

    The controls set a :mod:`torchvision.transforms.v2` pipeline (rotation,
    shift, horizontal flip, random crop with padding, brightness); ``samples``
    holds ``num_samples`` draws, seeded so that the same settings give the
    same grid. ``image`` is ``(C, H, W)`` in [0, 1].
    """

    def __init__(self, image: torch.Tensor, num_samples: int = 8, seed: int = 0) -> None:
        import ipywidgets as w

        check_tensor("image", image, ndim=3, floating=True)
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples < 1:
            raise ValueError(f"num_samples must be a positive int, got {num_samples!r}")
        self.image = image.detach().cpu()
        self.num_samples, self.seed = num_samples, seed
        style = {"description_width": "90px"}
        self.degrees = w.FloatSlider(value=0, min=0, max=180, step=5, description="rotation (deg)",
                                     style=style)
        self.translate = w.FloatSlider(value=0, min=0, max=0.3, step=0.05,
                                       description="shift (frac)", style=style)
        self.flip = w.Checkbox(value=False, description="horizontal flip (p=0.5)")
        self.crop_padding = w.IntSlider(value=0, min=0, max=8, description="crop padding",
                                        style=style)
        self.brightness = w.FloatSlider(value=0, min=0, max=0.8, step=0.1,
                                        description="brightness", style=style)
        self.picture = w.Image(format="png")
        for control in self._controls:
            control.observe(lambda _: self.update(), names="value")
        self.update()

    @property
    def _controls(self) -> tuple:
        return (self.degrees, self.translate, self.flip, self.crop_padding, self.brightness)

    @property
    def transform(self):
        """The v2 pipeline the controls describe."""
        from torchvision.transforms import v2

        steps = []
        if self.crop_padding.value:
            steps.append(v2.RandomCrop(self.image.shape[-2:], padding=self.crop_padding.value))
        if self.flip.value:
            steps.append(v2.RandomHorizontalFlip(p=0.5))
        if self.degrees.value or self.translate.value:
            t = self.translate.value
            steps.append(v2.RandomAffine(degrees=self.degrees.value,
                                         translate=(t, t) if t else None))
        if self.brightness.value:
            steps.append(v2.ColorJitter(brightness=self.brightness.value))
        return v2.Compose(steps) if steps else v2.Identity()

    def update(self) -> None:
        """Draw new samples with the current settings and redraw the grid."""
        transform = self.transform
        torch.manual_seed(self.seed)  # the same settings give the same grid
        samples = [transform(self.image) for _ in range(self.num_samples)]
        self.samples = torch.stack(samples).clamp(0, 1)
        cols = min(self.num_samples, 4)
        rows = -(-self.num_samples // cols)
        fig = Figure(figsize=(1.8 * cols, 1.9 * rows), layout="constrained")
        for i, ax in enumerate(fig.subplots(rows, cols, squeeze=False).flat):
            ax.axis("off")
            if i < self.num_samples:
                img = self.samples[i].permute(1, 2, 0).numpy()
                gray = img.shape[-1] == 1
                ax.imshow(img[..., 0] if gray else img, cmap="gray_r" if gray else None,
                          vmin=0, vmax=1)
        self.picture.value = figure_png(fig)

    @property
    def widget(self):
        import ipywidgets as w

        controls = w.VBox(list(self._controls))
        return w.VBox([controls, self.picture])

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


class ThresholdExplorer:
    """One class against the rest: move the threshold, see TPR, FPR and precision.

    An example counts as predicted positive when its probability for
    ``positive_class`` is at least the threshold. The picture shows the
    one-vs-rest ROC and precision-recall curves with the current operating
    point; ``tpr``, ``fpr``, ``precision`` and ``counts`` hold the numbers
    (the counts are scikit-learn's ``confusion_matrix`` of the binarised problem).
    """

    def __init__(self, y_true, y_prob, positive_class: int = 0, threshold: float = 0.5,
                 class_names: list[str] | None = None) -> None:
        import ipywidgets as w
        from sklearn.metrics import confusion_matrix, precision_recall_curve, roc_curve

        from .metrics import _check_labels_probs

        self.y_true, self.y_prob = _check_labels_probs(y_true, y_prob)
        k = self.y_prob.shape[1]
        names = class_names or [str(c) for c in range(k)]
        if len(names) != k:
            raise ValueError(f"class_names must have {k} entries, got {len(names)}")
        if not isinstance(positive_class, int) or not 0 <= positive_class < k:
            raise ValueError(f"positive_class must be an int in 0..{k - 1}, "
                             f"got {positive_class!r}")
        self._roc_curve, self._pr_curve = roc_curve, precision_recall_curve
        self._confusion_matrix = confusion_matrix
        self.positive = w.Dropdown(options=[(n, i) for i, n in enumerate(names)],
                                   value=positive_class, description="class")
        self.threshold = w.FloatSlider(value=threshold, min=0.0, max=1.0, step=0.01,
                                       description="threshold", readout_format=".2f")
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
        self.label.value = (f"threshold {t:.2f}: TP {tp}, FP {fp}, FN {fn}, TN {tn} &mdash; "
                            f"TPR (recall) {self.tpr:.3f}, FPR {self.fpr:.4f}, "
                            f"precision {self.precision:.3f}")
        fig = Figure(figsize=(8, 3.4), layout="constrained")
        ax_roc, ax_pr = fig.subplots(1, 2)
        fpr, tpr, _ = self._roc_curve(actual, score)
        prec, rec, _ = self._pr_curve(actual, score)
        ax_roc.plot(fpr, tpr)
        ax_roc.plot([0, 1], [0, 1], ls=":", color="gray")
        ax_roc.plot([self.fpr], [self.tpr], "o", color="red")
        ax_roc.set(xlabel="false-positive rate", ylabel="true-positive rate",
                   title=f"ROC, class {self.positive.label} vs rest")
        ax_pr.plot(rec, prec)
        if tp + fp:
            ax_pr.plot([self.tpr], [self.precision], "o", color="red")
        ax_pr.set(xlabel="recall", ylabel="precision", title="precision-recall", ylim=(0, 1.02))
        self.picture.value = figure_png(fig)

    @property
    def widget(self):
        import ipywidgets as w

        return w.VBox([w.HBox([self.positive, self.threshold]), self.label, self.picture])

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
