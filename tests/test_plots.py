"""resnet_utils.plots: figures have the panels and lines the chapters describe."""

import numpy as np
import pytest
import torch

from resnet_utils.plots import plot_history, show_images
from resnet_utils.train import History


def _history(val=True):
    nan = float("nan")
    return History(
        train_loss=[2.0, 1.0, 0.5],
        train_acc=[0.3, 0.6, 0.9],
        val_loss=[2.1, 1.2, 0.7] if val else [nan] * 3,
        val_acc=[0.25, 0.55, 0.85] if val else [nan] * 3,
        lr=[0.1] * 3,
        seconds=[1.0] * 3,
    )


def test_plot_history_draws_train_and_validation():
    fig = plot_history(_history(), title="t")
    ax_loss, ax_acc = fig.axes
    assert [len(ax.lines) for ax in fig.axes] == [2, 2]
    np.testing.assert_array_equal(ax_loss.lines[0].get_ydata(), [2.0, 1.0, 0.5])
    np.testing.assert_array_equal(ax_acc.lines[1].get_xdata(), [1, 2, 3])
    assert [len(ax.lines) for ax in plot_history(_history(val=False)).axes] == [1, 1]
    assert len(plot_history(_history().as_dict()).axes) == 2


def test_show_images_grid():
    fig = show_images(torch.rand(12, 1, 8, 8), labels=list("abcdefghijkl"), ncols=5)
    assert len(fig.axes) == 15 and fig.axes[11].get_title() == "l"
    assert len(show_images(torch.rand(3, 3, 8, 8)).axes) == 3


@pytest.mark.parametrize(
    "call,exc",
    [
        (lambda: plot_history([1, 2]), TypeError),
        (lambda: plot_history(History()), ValueError),
        (lambda: show_images(torch.rand(8, 8)), ValueError),
        (lambda: show_images(torch.rand(2, 1, 8, 8), labels=["a"]), ValueError),
        (lambda: show_images(torch.rand(2, 1, 8, 8), ncols=0), ValueError),
    ],
)
def test_bad_arguments(call, exc):
    with pytest.raises(exc):
        call()


def test_conv_animation_frames_fill_the_output():
    import torch.nn.functional as F

    from resnet_utils.plots import conv_animation

    x, k = torch.arange(16.0).view(4, 4), torch.tensor([[1.0, 0.0], [0.0, -1.0]])
    anim = conv_animation(x, k, padding=1)
    expected = F.conv2d(x[None, None], k[None, None], padding=1)[0, 0]
    assert len(list(anim.new_frame_seq())) == expected.numel()  # one frame per output pixel
    for frame in range(expected.numel()):
        anim._func(frame)
    out_ax = anim._fig.axes[2]
    shown = out_ax.images[0].get_array()
    np.testing.assert_allclose(np.asarray(shown), expected.numpy())
    html = anim.to_jshtml()
    assert "<script" in html and html.count("data:image/png") == expected.numel()


def test_conv_animation_bad_input():
    from resnet_utils.plots import conv_animation

    with pytest.raises(ValueError, match="x"):
        conv_animation(torch.zeros(1, 4, 4), torch.zeros(3, 3))
    with pytest.raises(ValueError, match="kernel_size"):
        conv_animation(torch.zeros(2, 2), torch.zeros(3, 3))


def test_plot_architecture_draws_one_arc_per_shortcut():
    from matplotlib.patches import FancyArrowPatch

    from resnet_utils.models import cifar_resnet, resnet18
    from resnet_utils.plots import plot_architecture

    def arcs(fig):
        patches = [p for p in fig.axes[0].patches if isinstance(p, FancyArrowPatch)]
        return len(patches), sum(p.get_linestyle() in ("--", "dashed") for p in patches)

    assert arcs(plot_architecture(resnet18(), (1, 3, 64, 64))) == (
        8,
        3,
    )  # 3 stages start with a projection
    assert arcs(plot_architecture(cifar_resnet(20), (1, 3, 32, 32))) == (9, 2)
    assert arcs(plot_architecture(cifar_resnet(20, residual=False), (1, 3, 32, 32))) == (0, 0)
    with pytest.raises(ValueError, match="residual blocks"):
        plot_architecture(torch.nn.Linear(2, 2), (1, 2))


def test_live_plot_updates_one_display(monkeypatch):
    import IPython.display

    from resnet_utils.plots import LivePlot

    shown, updates = [], []

    class Handle:
        def update(self, fig):
            updates.append(fig)

    monkeypatch.setattr(
        IPython.display, "display", lambda fig, display_id: shown.append(fig) or Handle()
    )
    live = LivePlot()
    h = _history()
    live(h)
    live(h)
    live(h)
    assert len(shown) == 1 and len(updates) == 2 and live.updates == 3
    assert [len(ax.lines) for ax in updates[-1].axes] == [2, 2]


def test_live_plot_with_num_epochs_draws_seldom_but_always_the_last_epoch(monkeypatch):
    import IPython.display

    from resnet_utils import plots
    from resnet_utils.train import History

    drawn = []

    class Handle:
        def update(self, fig):
            drawn.append(len(fig.axes[0].lines[0].get_xdata()))

    monkeypatch.setattr(
        IPython.display,
        "display",
        lambda fig, display_id: drawn.append(len(fig.axes[0].lines[0].get_xdata())) or Handle(),
    )
    clock = iter(range(0, 1000, 1))  # one second per call of perf_counter
    monkeypatch.setattr(plots.time, "perf_counter", lambda: float(next(clock)))
    live, h = plots.LivePlot(num_epochs=7, every_seconds=3.5), History()
    for _ in range(7):
        h.append(train_loss=1.0, train_acc=0.5, val_loss=1.0, val_acc=0.5, lr=0.1, seconds=1.0)
        live(h)
    # epochs drawn: the first, then whenever 3.5 s have passed since the last draw, and the last
    assert drawn[0] == 1 and drawn[-1] == 7 and 2 < live.updates < 7 == h.num_epochs
    with pytest.raises(ValueError, match="num_epochs"):
        plots.LivePlot(num_epochs=0)
    with pytest.raises(ValueError, match="every_seconds"):
        plots.LivePlot(every_seconds=-1)


def test_animation_html_is_offline():
    from resnet_utils.plots import animation_html, conv_animation

    html = animation_html(conv_animation(torch.zeros(3, 3), torch.ones(2, 2)))
    assert "https://" not in html and "<i class=" not in html
    assert html.count("data:image/png") == 4 and "&#x25B6;" in html
    with pytest.raises(TypeError, match="anim"):
        animation_html("not an animation")


def test_animation_html_describes_the_frames_for_screen_readers():
    import re

    from matplotlib import animation

    from resnet_utils.plots import animation_html, conv_animation

    # 5x5 input, 3x3 kernel, padding 1: a 7x7 padded input and a 5x5 output, 25 frames
    html = animation_html(conv_animation(torch.zeros(5, 5), torch.ones(3, 3), padding=1))
    alt = re.search(r'<img id="_anim_img\w+" lang="en" alt="([^"]+)"', html).group(1)
    assert "25 frames" in alt and "3x3 window" in alt and "7x7 zero-padded" in alt
    assert "5x5 output" in alt
    assert re.search(r'<input aria-label="frame" id="_anim_slider\w+"', html)
    # another animation has no description of its own: the caller must give one
    import matplotlib.pyplot as plt

    fig = plt.figure()
    plain = animation.FuncAnimation(fig, lambda i: (), frames=2)
    with pytest.raises(ValueError, match="alt"):
        animation_html(plain)
    assert 'alt="a &quot;dot&quot; moves"' in animation_html(plain, alt='a "dot" moves')
    plt.close(fig)
