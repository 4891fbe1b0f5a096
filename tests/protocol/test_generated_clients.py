"""The clients' protocol files are generated from `protocol/` (scripts/make_clients.py): they
must be what the generator makes now, and the C# ones must compile."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from scripts.make_clients import GENERATED, ROOT
from tests.support.csharp import NEWTONSOFT, compile_cs


@pytest.mark.parametrize(("path", "render"), GENERATED.items(), ids=[p.name for p in GENERATED])
def test_a_generated_client_file_is_fresh(path: Path, render: Callable[[], str]) -> None:
    assert path.read_text(encoding="utf-8") == render(), (
        f"{path.relative_to(ROOT)} is stale: run python scripts/make_clients.py"
    )


def test_the_generated_csharp_compiles(tmp_path: Path) -> None:
    files = [path for path in GENERATED if path.suffix == ".cs"]
    assert compile_cs(files, tmp_path / "Generated.dll", [NEWTONSOFT]).exists()
