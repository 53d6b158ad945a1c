"""The writer never leaves a half-written tree and never overwrites what it did not write."""

from __future__ import annotations

from pathlib import Path

import pytest

from autocoder.output import FileDraft, WriteConflictError, write_tree


def _drafts(**files: str) -> list[FileDraft]:
    return [FileDraft.text(path.replace("__", "/"), text) for path, text in files.items()]


def test_fresh_directory_appears_whole_without_staging_leftovers(tmp_path: Path) -> None:
    out = tmp_path / "out"
    written = write_tree(out, _drafts(a="1\n", sub__b="2\n"))
    assert written == ["a", "sub/b"]
    assert (out / "a").read_text() == "1\n" and (out / "sub" / "b").read_text() == "2\n"
    assert (out / ".autocoder" / "manifest.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert oct(out.stat().st_mode & 0o777) != oct(0o700)


def test_rewriting_unchanged_and_regenerated_files_is_allowed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tree(out, _drafts(a="1\n"))
    write_tree(out, _drafts(a="1\n"))
    write_tree(out, _drafts(a="2\n"))
    assert (out / "a").read_text() == "2\n"


def test_edited_file_is_a_conflict_and_nothing_is_written(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tree(out, _drafts(a="1\n", b="1\n"))
    (out / "a").write_text("edited by hand\n")
    with pytest.raises(WriteConflictError) as info:
        write_tree(out, _drafts(a="2\n", b="2\n"))
    assert [(c.path, c.reason) for c in info.value.conflicts] == [
        ("a", "was edited since Autocoder wrote it")
    ]
    assert (out / "a").read_text() == "edited by hand\n"
    assert (out / "b").read_text() == "1\n"  # untouched: all or nothing
    write_tree(out, _drafts(a="2\n", b="2\n"), force=True)
    assert (out / "a").read_text() == "2\n"


def test_foreign_file_is_never_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "a").write_text("mine\n")
    (out / "notes.txt").write_text("keep\n")
    with pytest.raises(WriteConflictError):
        write_tree(out, _drafts(a="generated\n"))
    assert (out / "a").read_text() == "mine\n"
    write_tree(out, _drafts(b="generated\n"))
    assert (out / "notes.txt").read_text() == "keep\n"


def test_user_owned_files_are_created_once(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tree(out, [FileDraft.text("logic.py", "v1\n", user_owned=True)])
    (out / "logic.py").write_text("implemented\n")
    write_tree(out, [FileDraft.text("logic.py", "v2\n", user_owned=True)])
    assert (out / "logic.py").read_text() == "implemented\n"


def test_stale_generated_files_are_removed_unless_edited(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tree(out, _drafts(a="1\n", b="1\n", c="1\n"))
    (out / "c").write_text("edited\n")
    write_tree(out, _drafts(a="1\n"))
    assert not (out / "b").exists()
    assert (out / "c").read_text() == "edited\n"


def test_output_path_that_is_a_file_is_a_conflict(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.write_text("x")
    with pytest.raises(WriteConflictError):
        write_tree(out, _drafts(a="1\n"))
