"""The docs cite only files the repository has.

Every relative Markdown link in the README and ``docs/``, and every path in
backticks that starts at one of the repository's folders (``tinynet/...``,
``runs/...``, ...), must exist. Paths under ``results/`` are what a user's own run
writes, so they are not checked; the project's reference runs live in ``runs/``.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
FOLDERS = ("tinynet/", "experiments/", "docs/", "tests/", "bench/", "runs/", ".ci/")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
CODE = re.compile(r"`([^`\s]+)`")


def cited_paths(doc: Path) -> list[tuple[str, Path]]:
    """(as written, resolved path) of each file ``doc`` cites."""
    text = doc.read_text(encoding="utf-8")
    found = [
        (target, doc.parent / target)
        for target in LINK.findall(text)
        if not target.startswith(("http://", "https://", "mailto:"))
    ]
    for token in CODE.findall(text):
        path = token.rstrip(".,:;").split("::")[0]
        if path.startswith(FOLDERS) and not any(c in path for c in "*<>{}$"):
            found.append((token, REPO / path))
    return found


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_cited_file_exists(doc):
    missing = [written for written, path in cited_paths(doc) if not path.exists()]
    assert not missing, f"{doc.relative_to(REPO)} cites files the repository lacks: {missing}"


def test_the_repository_holds_no_data_files():
    """Weights, predictions and images stay out of git; MNIST is found or downloaded."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True,
                             check=True).stdout.split()  # fmt: skip
    data = [path for path in tracked if path.endswith((".npz", ".npy", ".gz", "-ubyte", ".csv"))]
    assert not data, f"data files are committed: {data}"
