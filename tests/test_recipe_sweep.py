"""The digits recipe is the winner of its validation sweep, and the record says so."""

from dataclasses import replace
from pathlib import Path

import pytest
from conftest import load_tool

from resnet_utils.recipes import RECIPES, build_recipe, recipe_sweep

ROOT = Path(__file__).resolve().parents[1]


def test_recipe_is_the_sweeps_winner():
    record = recipe_sweep()
    tool = load_tool("sweep_recipe")
    assert tool.check(record) == []
    # the record is complete: every setting of the grid, every seed, on validation data
    assert [(r["lr"], r["label_smoothing"], r["augment"]) for r in record["rows"]] == [
        tuple(g) for g in tool.GRID
    ]
    assert all(len(r["val_acc"]) == len(record["seeds"]) >= 3 for r in record["rows"])
    assert "test" not in " ".join(k for r in record["rows"] for k in r)


def test_check_notices_a_recipe_that_is_not_the_winner(monkeypatch):
    tool = load_tool("sweep_recipe")
    record = recipe_sweep()
    other = replace(RECIPES["digits"], config=replace(RECIPES["digits"].config, lr=0.123))
    monkeypatch.setitem(RECIPES, "digits", other)
    assert any(p.startswith("lr:") for p in tool.check(record))


def test_build_recipe_follows_the_seed():
    recipe = RECIPES["digits"]
    m0, tl0, vl0, _ = build_recipe(recipe, 0)
    m0b, tl0b, _, _ = build_recipe(recipe, 0)
    m1, _, vl1, _ = build_recipe(recipe, 1)
    w = [m.conv1.weight for m in (m0, m0b, m1)]
    assert w[0].equal(w[1]) and not w[0].equal(w[2])
    # the validation split depends on the seed
    assert not vl0.dataset.X.equal(vl1.dataset.X)
    with pytest.raises(TypeError, match="recipe must be a Recipe"):
        build_recipe("digits", 0)
