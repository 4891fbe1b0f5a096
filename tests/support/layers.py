"""The top-level packages a folder's modules import, for tests of the project's layering."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path


def imports(folder: Path) -> Iterator[tuple[Path, str]]:
    """(module file, top-level package it imports) for every import under `folder`."""
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                yield path, name.split(".")[0]
