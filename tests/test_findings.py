"""compare_seeds's verdict and Findings' two behaviours (book settings, reader's)."""

import pytest

from resnet_utils.findings import Findings, compare_seeds


def test_verdict_needs_ranges_apart():
    c = compare_seeds([0.95, 0.96, 0.97], [0.90, 0.91, 0.94], names=("res", "plain"))
    assert c.verdict == "a" and c.winner == "res"
    assert c.gap == pytest.approx(0.96 - (0.90 + 0.91 + 0.94) / 3)
    assert "res is ahead of plain" in c.sentence()
    # one overlapping run is enough to withhold the ranking
    c = compare_seeds([0.95, 0.96, 0.93], [0.90, 0.91, 0.94], names=("res", "plain"))
    assert c.verdict == "tie" and c.winner is None
    assert "within each other's spread" in c.sentence()
    c = compare_seeds([0.1, 0.2], [0.3, 0.4])
    assert c.verdict == "b" and c.winner == "B"
    assert "B is ahead of A" in c.sentence()


def test_lower_is_better_for_losses():
    c = compare_seeds([0.1, 0.2, 0.15], [0.3, 0.4, 0.35], ("res", "plain"), higher_is_better=False)
    assert c.verdict == "a"
    c = compare_seeds([0.1, 0.2, 0.15], [0.3, 0.4, 0.35], ("res", "plain"), higher_is_better=True)
    assert c.verdict == "b"


def test_arrays_and_scalars_are_numbers():
    np = pytest.importorskip("numpy")
    torch = pytest.importorskip("torch")
    c = compare_seeds(np.array([0.9, 0.95]), [torch.tensor(0.5), np.float32(0.6)])
    assert c.verdict == "a" and c.b == pytest.approx((0.5, 0.6))


def test_spread_matches_numpy():
    np = pytest.importorskip("numpy")
    a, b = [0.3, 0.5, 0.9], [0.1, 0.2, 0.25, 0.4]
    c = compare_seeds(a, b)
    assert c.a_mean == pytest.approx(np.mean(a)) and c.b_mean == pytest.approx(np.mean(b))
    assert c.a_std == pytest.approx(np.std(a, ddof=1))
    assert c.b_std == pytest.approx(np.std(b, ddof=1))
    assert "3 and 4 seeds" in c.sentence()


@pytest.mark.parametrize(
    "a, b, names, hib, err, match",
    [
        ([], [1.0, 2.0], ("A", "B"), True, ValueError, "a must be a non-empty list of numbers"),
        ([1.0, 2.0], "12", ("A", "B"), True, TypeError, "b must be a non-empty list"),
        (
            [1.0, float("nan")],
            [1.0, 2.0],
            ("A", "B"),
            True,
            ValueError,
            r"a\[1\] must be a finite number",
        ),
        ([1.0, True], [1.0, 2.0], ("A", "B"), True, TypeError, r"a\[1\]"),
        ([1.0, 2.0], [1.0, 2.0], ("A",), True, ValueError, "names must be two non-empty"),
        ([1.0, 2.0], [1.0, 2.0], ("A", "B"), 1, TypeError, "higher_is_better"),
    ],
)
def test_compare_errors(a, b, names, hib, err, match):
    with pytest.raises(err, match=match):
        compare_seeds(a, b, names, hib)


def test_findings_assert_at_book_settings_only():
    book = Findings(num_epochs=(10, 10), seeds=([0, 1, 2], [0, 1, 2]))
    assert book.at_book_settings and book.note() == ""
    assert book.check(True, "fine") is True
    with pytest.raises(AssertionError, match="plain ends lower"):
        book.check(False, "plain ends lower")
    mine = Findings(num_epochs=(5, 10), seeds=([0, 1, 2], [0, 1, 2]))
    assert not mine.at_book_settings
    assert mine.check(False, "plain ends lower") is False  # no error: the reader's run
    assert "num_epochs = 5 (the book: 10)" in mine.note() and "seeds" not in mine.note()


def test_findings_show_displays_only_when_changed(monkeypatch):
    display = pytest.importorskip("IPython.display")
    shown = []
    monkeypatch.setattr(display, "display", shown.append)
    Findings(lr=(0.1, 0.1)).show()
    assert shown == []
    Findings(lr=(0.2, 0.1)).show()
    assert len(shown) == 1 and "lr = 0.2 (the book: 0.1)" in shown[0].data


def test_sentence_in_chinese_and_bad_lang():
    c = compare_seeds([0.95, 0.96, 0.97], [0.90, 0.91, 0.94], names=("res", "plain"))
    zh = c.sentence("准确率", lang="zh", names=("残差网络", "普通网络"))
    assert zh == "残差网络在每一次运行中都领先于普通网络（准确率）（各 3 个种子）"
    tie = compare_seeds([0.95, 0.90], [0.91, 0.94])
    assert "排不出先后" in tie.sentence(lang="zh", names=("甲", "乙"))
    with pytest.raises(ValueError, match="lang"):
        c.sentence(lang="fr")


def test_one_seed_each_compares_two_runs():
    c = compare_seeds([0.9], [0.8])
    assert c.verdict == "a" and c.a_std != c.a_std  # nan: one run has no spread
