"""The source build's bookkeeping, without a compiler: what it checks, syncs and keeps."""

from __future__ import annotations

import os
import time

import pytest

from esp_hil.errors import HilError
from esp_hil.virtual.source import build as source
from esp_hil.virtual.source.build import REQUIRED, Recipe, recipe_from
from esp_hil.virtual.source.mutations import MUTATIONS, Edit, Mutation


def _tree(root, missing: str = "") -> None:
    for rel in REQUIRED:
        if rel != missing:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text("x\n")


def test_a_tree_without_a_submodule_is_one_line_naming_the_fix(tmp_path):
    _tree(tmp_path, missing="lib/lwip/src/core/tcp.c")
    with pytest.raises(HilError) as err:
        source.build(Recipe(tmp_path), progress=lambda line: None)
    assert "lib/lwip" in str(err.value) and "git submodule update --init lib/lwip" in str(err.value)
    assert "\n" not in str(err.value)


def test_sync_writes_only_what_changed_so_make_rebuilds_only_that(tmp_path):
    src, tree, record = tmp_path / "src", tmp_path / "tree", tmp_path / "synced.json"
    src.mkdir()
    (src / "a.c").write_text("int a;\n")
    (src / "b.c").write_text("int b;\n")
    files = {rel: source._reader(src / rel, digest) for rel, digest in _digests(src).items()}
    source._sync(tree, files, record)
    old = {p.name: p.stat().st_mtime_ns for p in tree.iterdir()}
    time.sleep(0.01)
    (src / "b.c").write_text("int b2;\n")
    files = {rel: source._reader(src / rel, digest) for rel, digest in _digests(src).items()}
    source._sync(tree, files, record)
    assert (tree / "a.c").stat().st_mtime_ns == old["a.c"]
    assert (tree / "b.c").stat().st_mtime_ns != old["b.c"] and (tree / "b.c").read_text() == "int b2;\n"


def test_sync_removes_what_the_tree_no_longer_has(tmp_path):
    src, tree, record = tmp_path / "src", tmp_path / "tree", tmp_path / "synced.json"
    src.mkdir()
    (src / "gone.c").write_text("x\n")
    source._sync(tree, {"gone.c": source._reader(src / "gone.c", "d1")}, record)
    source._sync(tree, {}, record)
    assert not (tree / "gone.c").exists()


def _digests(root):
    return {str(p.relative_to(root)): str(p.stat().st_mtime_ns) + p.read_text() for p in root.iterdir()}


def test_every_revert_names_its_file_and_the_tests_that_guard_it():
    names = [m.name for m in MUTATIONS]
    assert len(names) == len(set(names))
    for m in MUTATIONS:
        assert m.file.startswith("extmod/") and m.guards and all(g.startswith("test_") for g in m.guards)


def test_a_revert_that_no_longer_applies_says_so():
    m = Mutation("x", "a revert", "extmod/modlwip.c", (Edit("not in the file", "y"),), ("test_accept",))
    with pytest.raises(HilError, match="no longer applies"):
        m.apply(b"int main;\n")


def test_recipe_options_round_trip_and_need_a_tree(tmp_path):
    recipe = Recipe(tmp_path, "send-no-eagain", True)
    assert recipe.args() == ["--micropython-src", str(tmp_path), "--micropython-revert", "send-no-eagain",
                             "--micropython-sanitize"]
    assert recipe_from(None, None, False) is None
    with pytest.raises(HilError, match="needs a MicroPython tree"):
        recipe_from(None, "send-no-eagain", False)


def test_prune_keeps_the_most_recently_used(tmp_path):
    for n in range(5):
        (tmp_path / f"e{n}").mkdir()
        os.utime(tmp_path / f"e{n}", (n, n))
    source._prune(tmp_path, keep=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e3", "e4"]


def test_a_revert_is_caught_by_its_guards_and_may_take_down_what_stands_on_it():
    accept = next(m for m in MUTATIONS if m.name == "accept-discards-early-data")
    assert accept.caught({"test_accept"}) and accept.caught({"test_accept", "test_webrepl"})
    assert not accept.caught({"test_webrepl"})  # its guard passed: missed
    assert not accept.caught({"test_accept", "test_send"})  # a module with nothing to do with it
