"""resnet_utils.models against torchvision (keys, shapes, outputs, sizes) and He et al.'s Table 6."""

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from resnet_utils import models
from resnet_utils.explain import residual_blocks
from resnet_utils.models import (
    BasicBlock,
    PadShortcut,
    ResidualBlock,
    build_model,
    cifar_resnet,
    count_parameters,
)

IMAGENET = [("resnet18", 11_689_512), ("resnet34", 21_797_672), ("resnet50", 25_557_032)]


@pytest.mark.parametrize("name,expected", IMAGENET)
def test_imagenet_models_match_torchvision(name, expected):
    torch.manual_seed(0)
    ours, ref = getattr(models, name)(), getattr(torchvision.models, name)()
    ours_sd, ref_sd = ours.state_dict(), ref.state_dict()
    assert list(ours_sd) == list(ref_sd)
    assert all(ours_sd[k].shape == ref_sd[k].shape for k in ref_sd)
    assert count_parameters(ours) == count_parameters(ref) == expected
    ours.load_state_dict(ref_sd, strict=True)
    ours.eval(), ref.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), ref(x), rtol=0, atol=0)


def test_num_classes_and_in_channels():
    model = models.resnet18(num_classes=7, in_channels=1)
    assert model(torch.randn(2, 1, 32, 32)).shape == (2, 7)
    ref = torchvision.models.resnet18(num_classes=7)
    assert count_parameters(model) == count_parameters(ref) - 2 * 64 * 7 * 7


def _cifar_params_by_hand(depth, in_channels=3, num_classes=10, w=16):
    """Count He et al.'s CIFAR net layer by layer, independently of the code under test."""
    n = (depth - 2) // 6
    conv = lambda cin, cout: cin * cout * 9
    bn = lambda c: 2 * c
    total = conv(in_channels, w) + bn(w)
    for cin, cout in [(w, w), (w, 2 * w), (2 * w, 4 * w)]:
        total += conv(cin, cout) + (2 * n - 1) * conv(cout, cout) + 2 * n * bn(cout)
    return total + 4 * w * num_classes + num_classes


# He et al. (2016), Table 6: parameters of the CIFAR-10 ResNets.
TABLE6 = {20: "0.27M", 32: "0.46M", 44: "0.66M", 56: "0.85M", 110: "1.7M"}


@pytest.mark.parametrize("depth", sorted(TABLE6))
def test_cifar_family_sizes_match_paper(depth):
    model = cifar_resnet(depth)
    n = count_parameters(model)
    assert n == _cifar_params_by_hand(depth)
    digits = 1 if depth == 110 else 2
    assert f"{n / 1e6:.{digits}f}M" == TABLE6[depth]
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert len(convs) + len(linears) == depth  # 6n+2 weighted layers, option A adds none


def test_cifar_shapes_through_stages():
    model = cifar_resnet(20, width=8)
    x = torch.randn(2, 3, 32, 32)
    x = model.relu(model.bn1(model.conv1(x)))
    assert model.layer1(x).shape == (2, 8, 32, 32)
    assert model.layer2(model.layer1(x)).shape == (2, 16, 16, 16)
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_plain_variant_has_no_shortcut():
    plain, res = cifar_resnet(20, residual=False), cifar_resnet(20)
    assert count_parameters(plain) == count_parameters(res)
    assert not any(isinstance(m, PadShortcut) for m in plain.modules())
    assert all(
        b.downsample is None and not b.residual
        for b in plain.modules()
        if isinstance(b, BasicBlock)
    )
    assert sum(isinstance(m, PadShortcut) for m in res.modules()) == 2


@pytest.mark.parametrize("residual", [True, False])
def test_block_with_zeroed_branch(residual):
    """With the branch's last BN at zero, a residual block passes x through; a plain block outputs 0."""
    block = BasicBlock(8, 8, residual=residual).eval()
    nn.init.zeros_(block.bn2.weight)
    x = torch.rand(2, 8, 5, 5)  # non-negative, as after a ReLU
    out = block(x)
    torch.testing.assert_close(out, x if residual else torch.zeros_like(x))


def test_zero_init_residual_makes_blocks_identity():
    model = cifar_resnet(20, zero_init_residual=True).eval()
    block = model.layer1[1]
    x = torch.rand(1, 16, 8, 8)
    torch.testing.assert_close(block(x), x)
    plain = cifar_resnet(20, residual=False, zero_init_residual=True)
    assert all(
        b.bn2.weight.abs().sum().item() > 0 for b in plain.modules() if isinstance(b, BasicBlock)
    )


def test_shortcut_option_b_uses_projection():
    model = cifar_resnet(20, shortcut="B")
    assert isinstance(model.layer2[0].downsample, nn.Sequential)
    assert count_parameters(model) == count_parameters(cifar_resnet(20)) + (16 * 32 + 64) + (
        32 * 64 + 128
    )


def test_pad_shortcut():
    x = torch.randn(2, 4, 6, 6)
    out = PadShortcut(4, 8, 2)(x)
    assert out.shape == (2, 8, 3, 3)
    torch.testing.assert_close(out[:, 2:6], x[:, :, ::2, ::2])
    assert out[:, :2].abs().sum() == 0 and out[:, 6:].abs().sum() == 0


@pytest.mark.parametrize(
    "cin,cout,stride,projection",
    [(8, 8, 1, False), (8, 16, 1, True), (8, 8, 2, True), (8, 16, 2, True)],
)
def test_residual_block_article_signature(cin, cout, stride, projection):
    block = ResidualBlock(cin, cout, stride)
    assert (block.downsample is not None) == projection
    out = block(torch.randn(2, cin, 8, 8))
    assert out.shape == (2, cout, 8 // stride, 8 // stride)
    assert (out >= 0).all()  # ReLU after the addition


def test_residual_block_equals_torchvision_basic_block():
    from torchvision.models.resnet import BasicBlock as TVBlock

    ours = ResidualBlock(8, 16, stride=2)
    down = nn.Sequential(nn.Conv2d(8, 16, 1, 2, bias=False), nn.BatchNorm2d(16))
    ref = TVBlock(8, 16, stride=2, downsample=down)
    ours.load_state_dict(ref.state_dict(), strict=True)
    x = torch.randn(3, 8, 8, 8)
    torch.testing.assert_close(ours(x), ref(x))


@pytest.mark.parametrize(
    "arch, reference",
    [
        ("resnet20", lambda: cifar_resnet(20, num_classes=5, in_channels=1)),
        ("plain56", lambda: cifar_resnet(56, num_classes=5, in_channels=1, residual=False)),
        ("resnet18", lambda: models.resnet18(num_classes=5, in_channels=1)),
        ("resnet50", lambda: models.resnet50(num_classes=5, in_channels=1)),
    ],
)
def test_build_model_builds_the_named_network(arch, reference):
    """The name gives the network the builders give: the same weights from the same seed."""
    from resnet_utils.checkpoint import state_dict_sha256

    torch.manual_seed(0)
    model = build_model(arch, num_classes=5, in_channels=1)
    torch.manual_seed(0)
    assert state_dict_sha256(model) == state_dict_sha256(reference())
    assert model.residual == (not arch.startswith("plain"))


@pytest.mark.parametrize(
    "bad,exc,word",
    [
        (lambda: cifar_resnet(21), ValueError, "depth"),
        (lambda: cifar_resnet(2), ValueError, "depth"),
        (lambda: cifar_resnet(20.0), TypeError, "depth"),
        (lambda: cifar_resnet(20, shortcut="C"), ValueError, "shortcut"),
        (lambda: cifar_resnet(20, num_classes=0), ValueError, "num_classes"),
        (lambda: cifar_resnet(20, residual="yes"), TypeError, "residual"),
        (lambda: ResidualBlock(0, 8), ValueError, "in_channels"),
        (lambda: ResidualBlock(8, 8, stride=0), ValueError, "stride"),
        (lambda: models.resnet18(num_classes=-1), ValueError, "num_classes"),
        (lambda: build_model("resnet21"), ValueError, "arch"),
        (lambda: build_model("vgg16"), ValueError, "arch"),
        (lambda: build_model(18), TypeError, "arch"),
        (lambda: count_parameters("model"), TypeError, "model"),
        (lambda: models.freeze_batch_norm("model"), TypeError, "model"),
        (lambda: models.ResNet(BasicBlock, [2, 2, 2]), ValueError, "layers"),
        (lambda: models.ResNet(BasicBlock, [2, 2, 0, 2]), ValueError, "layers"),
        (lambda: models.resnet18(norm_layer=None, zero_init_residual=True), ValueError, "zero"),
    ],
)
def test_bad_arguments(bad, exc, word):
    with pytest.raises(exc, match=word):
        bad()


def test_norm_layer_none_removes_batch_norm_and_frozen_batch_norm_freezes_it():
    from torchvision.ops import FrozenBatchNorm2d

    from resnet_utils.models import build_model

    x = torch.randn(2, 3, 32, 32)
    bare = build_model("plain20", norm_layer=None)
    assert not any(isinstance(m, nn.modules.batchnorm._NormBase) for m in bare.modules())
    assert bare(x).shape == (2, 10)
    # the same weights as the batch-norm network, minus the batch-norm parameters
    with_bn = build_model("plain20")
    bn_params = sum(
        p.numel()
        for m in with_bn.modules()
        if isinstance(m, nn.BatchNorm2d)
        for p in m.parameters()
    )
    assert count_parameters(bare) == count_parameters(with_bn) - bn_params
    frozen = build_model("resnet18", norm_layer=FrozenBatchNorm2d)
    assert sum(isinstance(m, FrozenBatchNorm2d) for m in frozen.modules()) == 20
    with pytest.raises(ValueError, match="zero_init_residual"):
        cifar_resnet(8, norm_layer=None, zero_init_residual=True)


def test_the_arch_rule_validates_by_name_without_building(monkeypatch):
    import resnet_utils.models as models
    from resnet_utils._checks import check

    def no_building(*args, **kwargs):
        raise AssertionError("the arch rule built a model")

    monkeypatch.setattr(models, "cifar_resnet", no_building)
    monkeypatch.setitem(models.ARCHITECTURES, "resnet50", no_building)
    for name in ("resnet20", "plain56", "resnet110", "resnet50"):
        assert check(arch=name) == name and models.buildable(name)
    for name in ("resnet21", "resnet2", "plain", "vgg16", "resnet20x", "Resnet20"):
        with pytest.raises(ValueError, match=f"arch must be one of .*got '{name}'"):
            check(arch=name)
    with pytest.raises(TypeError, match="arch"):
        check(arch=20)


def _trained_batch_norm(model, x):
    """``model`` in eval mode, its batch norms with random affine parameters, eps 0.1 (not the
    default, so that a copy that loses it computes another function) and running statistics
    from a training-mode pass over ``x``."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight)
            nn.init.normal_(m.bias)
            m.eps = 0.1
    model.train()
    with torch.no_grad():
        model(x)
    return model.eval()


@pytest.mark.parametrize("arch", ["resnet14", "plain8", "resnet18"])
def test_freeze_batch_norm_keeps_the_function_and_stops_the_statistics(arch):
    from torchvision.ops.misc import FrozenBatchNorm2d

    torch.manual_seed(0)
    model = _trained_batch_norm(build_model(arch, in_channels=1), torch.randn(8, 1, 32, 32))
    x = torch.randn(2, 1, 32, 32)
    expected = model(x)
    batch_norms = [n for n, m in model.named_modules() if isinstance(m, nn.BatchNorm2d)]
    kept = [n for n, _ in model.named_parameters() if n.rsplit(".", 1)[0] not in batch_norms]
    state = {k: v.clone() for k, v in model.state_dict().items() if "num_batches" not in k}
    rng = torch.get_rng_state()
    assert models.freeze_batch_norm(model) is model  # in place
    assert torch.equal(torch.get_rng_state(), rng)  # nothing rebuilt: no random number drawn
    frozen = [n for n, m in model.named_modules() if isinstance(m, FrozenBatchNorm2d)]
    assert frozen == batch_norms
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert all(model.get_submodule(n).eps == 0.1 for n in frozen)
    # the same tensors under the same names; those of batch norm are now buffers, not parameters
    assert [n for n, _ in model.named_parameters()] == kept
    assert model.state_dict().keys() == state.keys()
    assert all(torch.equal(model.state_dict()[k], v) for k, v in state.items())
    assert not model.training and not any(m.training for m in model.modules())
    torch.testing.assert_close(model(x), expected)  # the same function in eval mode ...
    model.train()
    torch.testing.assert_close(model(x), expected)  # ... and in training mode, where
    model(torch.randn(8, 1, 32, 32) * 5 + 3)  # no batch moves the statistics any more
    assert all(torch.equal(model.state_dict()[k], v) for k, v in state.items())


# --- the pre-activation network (He et al. 2016b) and networks without batch norm ---------------


@pytest.mark.parametrize("depth", sorted(TABLE6))
def test_preact_has_the_same_parameter_count_as_the_original(depth):
    """Same layers, rearranged: BN before each conv and one final BN, no BN after the stem."""
    model = cifar_resnet(depth, preact=True)
    n = count_parameters(model)
    assert n == count_parameters(cifar_resnet(depth)) == _cifar_params_by_hand(depth)
    digits = 1 if depth == 110 else 2
    assert f"{n / 1e6:.{digits}f}M" == TABLE6[depth]  # ResNet-110 pre-activation: 1.7M
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) + 1 == depth
    blocks = [m for m in model.modules() if isinstance(m, models.PreActBlock)]
    assert len(blocks) == 3 * (depth - 2) // 6
    assert not any(isinstance(m, BasicBlock) for m in model.modules())


def test_preact_network_layout():
    model = cifar_resnet(20, in_channels=1, width=8, preact=True)
    assert not hasattr(model, "bn1") and isinstance(model.bn_final, nn.BatchNorm2d)
    assert model.bn_final.num_features == 32
    first2 = model.layer2[0]
    assert (
        first2.bn1.num_features == 8 and first2.bn2.num_features == 16
    )  # BN of the block's input
    assert isinstance(first2.downsample, PadShortcut) and model.layer1[0].downsample is None
    assert model(torch.randn(3, 1, 8, 8)).shape == (3, 10)
    names = [n for n, _ in residual_blocks(model)]
    assert names == [f"layer{s}.{i}" for s in (1, 2, 3) for i in range(3)]
    with_b = cifar_resnet(20, preact=True, shortcut="B")
    assert isinstance(with_b.layer2[0].downsample, nn.Conv2d)  # a bare 1x1 conv, no BN
    assert count_parameters(with_b) == count_parameters(cifar_resnet(20, shortcut="B")) - 2 * (
        32 + 64
    )


def _preact_block_by_hand(block, x):
    """x + conv2(relu(bn2(conv1(relu(bn1(x)))))) with torch.nn.functional, from the paper's eq."""

    def bn(m, t):
        return F.batch_norm(t, m.running_mean, m.running_var, m.weight, m.bias, False, 0.0, m.eps)

    out = F.conv2d(F.relu(bn(block.bn1, x)), block.conv1.weight, stride=block.stride, padding=1)
    return x + F.conv2d(F.relu(bn(block.bn2, out)), block.conv2.weight, padding=1)


def test_preact_block_computes_the_papers_formula():
    torch.manual_seed(0)
    block = models.PreActBlock(6, 6)
    for bn in (block.bn1, block.bn2):  # non-trivial statistics and affine parameters
        nn.init.normal_(bn.weight)
        nn.init.normal_(bn.bias)
        bn.running_mean.normal_()
        bn.running_var.uniform_(0.5, 2)
    block.eval()
    x = torch.randn(2, 6, 5, 5)
    torch.testing.assert_close(block(x), _preact_block_by_hand(block, x))


@pytest.mark.parametrize("train", [True, False])
def test_preact_block_identity_path(train):
    """With the branch's last conv at zero the block is the identity for *any* input, and the
    gradient reaches x unchanged; the original block clips negative inputs (ReLU after the sum)."""
    torch.manual_seed(0)
    block = models.PreActBlock(8, 8).train(train)
    nn.init.zeros_(block.conv2.weight)
    x = torch.randn(4, 8, 5, 5, requires_grad=True)  # negative values included
    out = block(x)
    assert torch.equal(out, x)
    g = torch.randn_like(x)
    (grad,) = torch.autograd.grad(out, x, g)
    assert torch.equal(grad, g)  # dL/dx_l = dL/dx_{l+1} (1 + dF/dx_l), and dF/dx_l = 0 here
    original = BasicBlock(8, 8).train(train)
    nn.init.zeros_(original.bn2.weight)
    assert not torch.equal(original(x.detach()), x.detach())


def test_preact_block_gradient_contains_the_upstream_gradient():
    """He et al. 2016b, eq. 5: dL/dx_l = dL/dx_L + dL/dx_L * d(sum F)/dx_l, checked with autograd."""
    torch.manual_seed(0)
    stack = nn.Sequential(*[models.PreActBlock(4, 4) for _ in range(3)]).eval()
    x = torch.randn(2, 4, 5, 5, requires_grad=True)
    out = stack(x)
    g = torch.randn_like(out)  # dL/dx_L
    (total,) = torch.autograd.grad(out, x, g)
    residual = lambda t: stack(t) - t  # sum of the branches, F_1 + ... + F_L
    (through_branches,) = torch.autograd.grad(residual(x), x, g)
    torch.testing.assert_close(total, g + through_branches)


def test_preact_block_without_residual_is_the_branch():
    torch.manual_seed(0)
    block = models.PreActBlock(4, 4, residual=False).eval()
    x = torch.randn(2, 4, 5, 5)
    torch.testing.assert_close(block(x), _preact_block_by_hand(block, x) - x)


@pytest.mark.parametrize("preact", [False, True])
@pytest.mark.parametrize("residual", [False, True])
def test_norm_layer_none_has_no_batch_norm(residual, preact):
    model = cifar_resnet(
        20, in_channels=1, width=4, residual=residual, preact=preact, norm_layer=None
    )
    assert not any(isinstance(m, nn.modules.batchnorm._NormBase) for m in model.modules())
    x = torch.randn(2, 1, 8, 8, requires_grad=True)
    model(x).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    x2 = x.detach().clone()
    model(x2)
    torch.testing.assert_close(x2, x.detach())  # no in-place ReLU overwrote the input


def test_convolutions_start_from_he_initialisation():
    """kaiming_normal_(mode="fan_out", nonlinearity="relu"): std sqrt(2 / (C_out k k)), mean 0."""
    torch.manual_seed(0)
    for preact in (False, True):
        model = cifar_resnet(20, preact=preact, norm_layer=None)
        for conv in (model.layer3[1].conv1, model.layer3[2].conv2):  # 64*64*9 weights each
            w = conv.weight
            expected = (2 / (w.shape[0] * w.shape[2] * w.shape[3])) ** 0.5
            assert (
                abs(w.std().item() / expected - 1) < 0.02
                and abs(w.mean().item()) < 0.01 * expected
            )


def test_preact_arguments_are_checked_and_freeze_batch_norm_keeps_the_function():
    from torchvision.ops.misc import FrozenBatchNorm2d

    with pytest.raises(TypeError, match="preact"):
        cifar_resnet(20, preact="yes")
    with pytest.raises(ValueError, match="zero_init_residual"):
        cifar_resnet(20, preact=True, zero_init_residual=True)
    torch.manual_seed(0)
    model = _trained_batch_norm(
        cifar_resnet(14, in_channels=1, width=4, preact=True), torch.randn(8, 1, 8, 8)
    )
    x = torch.randn(2, 1, 8, 8)
    expected = model(x)
    frozen = models.freeze_batch_norm(model)
    assert frozen.preact and isinstance(frozen.bn_final, FrozenBatchNorm2d)
    assert isinstance(frozen.layer2[0].bn1, FrozenBatchNorm2d)  # the block's input BN
    torch.testing.assert_close(frozen(x), expected)
    torch.testing.assert_close(frozen.train()(x), expected)


def test_plot_architecture_draws_the_preact_network():
    from resnet_utils.plots import plot_architecture

    fig = plot_architecture(cifar_resnet(20, in_channels=1, width=4, preact=True), (1, 1, 8, 8))
    assert len(fig.axes[0].patches) == 1 + 9 + 1 + 9  # stem, blocks, head, shortcut arcs
