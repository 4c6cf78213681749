"""The program's own string literals: which files count as the program, and what counts as written."""

from __future__ import annotations

from pathlib import Path

from offline.source_literals import SourceLiterals, program_files


def _tree(root: Path) -> None:
    for relative in (
        "__main__.py",
        "components/mesh.py",
        ".venv/lib/site.py",
        "offline/placeholders.py",
        "tests/test_x.py",
        "components/__pycache__/mesh.py",
        "components/notes.txt",
    ):
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('PASSWORD = "typed-in-here"\n' if relative == "components/mesh.py" else "x = 1\n")


def test_program_files_leave_out_hidden_and_skipped_directories(tmp_path: Path) -> None:
    _tree(tmp_path)
    files = [p.relative_to(tmp_path).as_posix() for p in program_files([tmp_path, tmp_path])]
    assert files == ["__main__.py", "components/mesh.py"]


def test_a_literal_of_the_program_counts_and_one_only_in_the_virtualenv_does_not(tmp_path: Path) -> None:
    _tree(tmp_path)
    (tmp_path / ".venv/lib/site.py").write_text('KEY = "only-in-a-dependency"\n')
    literals = SourceLiterals([tmp_path], plain_config=["from-config"])
    assert "typed-in-here" in literals
    assert "from-config" in literals
    assert "only-in-a-dependency" not in literals
    assert "" not in literals
