"""What a chapter's runs warrant: comparisons over seeds, and findings tied to settings.

Two kinds of check run in the chapters. *Invariants* (the hand-written
layer equals the library's, the shapes, equal weights) must hold for any
setting and are plain ``assert`` statements. *Findings* (which network
ends lower, which recipe wins) are what the book's own run showed: they
are stated in the prose, checked at the settings the prose describes, and
need not hold on another budget. This module serves the second kind:

- :func:`compare_seeds` compares two settings run with several seeds and
  computes the verdict a sentence may state: A ahead, B ahead, or within
  the spread.
- :class:`Findings` knows the chapter's book settings; its :meth:`check`
  asserts a finding only there, and where a reader has changed a
  parameter it says once, in one line, that the run is now theirs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ._checks import check, check_as

__all__ = ["SeedComparison", "compare_seeds", "Findings"]


def _values(name: str, values: Any) -> list[float]:
    """One number per seed, from a list, an array or a tensor."""
    values = values.tolist() if hasattr(values, "tolist") else values  # NumPy, torch
    if isinstance(values, (list, tuple)):  # their scalars too
        values = [v.item() if hasattr(v, "item") else v for v in values]
    return list(check_as("per_seed", name, values))


def _std(values: list[float]) -> float:
    if len(values) < 2:
        return math.nan  # one run has no spread
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


@dataclass(frozen=True)
class SeedComparison:
    """Two settings, each run with several seeds, and the verdict they warrant.

    ``verdict`` is ``"a"`` when every run of A is better than every run of
    B (their ranges do not overlap), ``"b"`` the other way round, and
    ``"tie"`` otherwise: then the runs do not rank the two. With three seeds
    each, two settings that do not differ at all still give non-overlapping
    ranges one time in ten, so a verdict is evidence, not proof.
    """

    a_name: str
    b_name: str
    a: tuple[float, ...]
    b: tuple[float, ...]
    higher_is_better: bool
    verdict: str  # "a", "b" or "tie"

    @property
    def a_mean(self) -> float:
        return sum(self.a) / len(self.a)

    @property
    def b_mean(self) -> float:
        return sum(self.b) / len(self.b)

    @property
    def a_std(self) -> float:
        return _std(list(self.a))

    @property
    def b_std(self) -> float:
        return _std(list(self.b))

    @property
    def gap(self) -> float:
        """Mean of A minus mean of B."""
        return self.a_mean - self.b_mean

    @property
    def winner(self) -> str | None:
        """The name of the setting ahead, or None within the spread."""
        return {"a": self.a_name, "b": self.b_name}.get(self.verdict)

    def sentence(
        self, what: str = "", lang: str = "en", names: tuple[str, str] | None = None
    ) -> str:
        """The verdict in words, e.g. 'A is ahead of B on every run (3 seeds each)'.

        ``what`` names the measure; ``lang="zh"`` gives the Chinese sentence
        (with ``names`` in Chinese) for the Chinese edition's glue.
        """
        check(lang=lang)
        a, b = names if names is not None else (self.a_name, self.b_name)
        ahead, behind = (b, a) if self.verdict == "b" else (a, b)
        same = len(self.a) == len(self.b)
        if lang == "zh":
            what = f"（{what}）" if what else ""
            n = (
                f"各 {len(self.a)} 个种子"
                if same
                else f"分别 {len(self.a)} 个和 {len(self.b)} 个种子"
            )
            if self.verdict == "tie":
                return f"{a}与{b}的差距没有超出种子间的波动{what}：两者的各次运行（{n}）相互重叠，排不出先后"
            return f"{ahead}在每一次运行中都领先于{behind}{what}（{n}）"
        what = f" ({what})" if what else ""
        n = f"{len(self.a)} seeds each" if same else f"{len(self.a)} and {len(self.b)} seeds"
        if self.verdict == "tie":
            return (
                f"{a} and {b} are within each other's spread{what}: "
                f"their runs ({n}) overlap, so they do not rank the two"
            )
        return f"{ahead} is ahead of {behind}{what} on every run ({n})"


def compare_seeds(
    a: Iterable[float],
    b: Iterable[float],
    names: tuple[str, str] = ("A", "B"),
    higher_is_better: bool = True,
) -> SeedComparison:
    """Compare two settings from their per-seed results (e.g. final accuracies).

    Args:
        a, b: one number per seed for each setting (at least one each; with
            one, the verdict compares two single runs and ``a_std`` is nan).
        names: what to call A and B in :meth:`SeedComparison.sentence`.
        higher_is_better: True for accuracies, False for losses and errors.

    Returns a :class:`SeedComparison`; its ``verdict`` ranks A and B only
    when every run of one is better than every run of the other.
    """
    a_vals, b_vals = _values("a", a), _values("b", b)
    check(names=names, higher_is_better=higher_is_better)
    sign = 1.0 if higher_is_better else -1.0
    if min(sign * v for v in a_vals) > max(sign * v for v in b_vals):
        verdict = "a"
    elif min(sign * v for v in b_vals) > max(sign * v for v in a_vals):
        verdict = "b"
    else:
        verdict = "tie"
    return SeedComparison(
        names[0], names[1], tuple(a_vals), tuple(b_vals), higher_is_better, verdict
    )


class Findings:
    """A chapter's findings, checked at the settings its prose describes.

    Build it right after the parameters cell with each parameter a finding
    depends on, as ``name=(value now, the book's value)``::

        findings = Findings(num_epochs=(num_epochs, 10), seeds=(seeds, [0, 1, 2]))

    At the book's settings :meth:`check` is an assert. Where the reader
    changed one, the chapter shows one line saying so (its display), and
    :meth:`check` returns the outcome instead of failing: the reader's run
    may find something else, which is an experiment, not an error.
    """

    def __init__(self, **settings: tuple[Any, Any]) -> None:
        self.changed = {k: v for k, v in settings.items() if v[0] != v[1]}

    @property
    def at_book_settings(self) -> bool:
        return not self.changed

    def note(self) -> str:
        """The one line shown where a parameter differs from the book's ('' otherwise)."""
        if not self.changed:
            return ""
        what = ", ".join(
            f"{k} = {now!r} (the book: {book!r})" for k, (now, book) in self.changed.items()
        )
        return (
            f"You changed {what}: this run is your experiment. The prose's conclusions "
            "come from the book's settings and are not checked here; the checks that "
            "the code is right still run."
        )

    def check(self, condition: Any, message: str) -> bool:
        """Assert ``condition`` at the book's settings; elsewhere return it."""
        if not condition and self.at_book_settings:
            raise AssertionError(message)
        return bool(condition)

    def show(self) -> None:
        """Display :meth:`note` as a Markdown quote where a parameter changed; else nothing."""
        note = self.note()
        if note:
            from IPython.display import Markdown, display

            display(Markdown(f"> **Note.** {note}"))

    def __repr__(self) -> str:
        return f"Findings(changed={self.changed!r})"
