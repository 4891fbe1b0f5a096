"""Builds and runs C# with this machine's Mono (`mcs`, C# 7.2; NUnit 2.6), as the tests of the
Unity package need: the SDK's core, its Unity layer against a stub of UnityEngine, and NUnit
test assemblies."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "webgl" / "unity"
NEWTONSOFT = Path("/usr/lib/cli/Newtonsoft.Json-5.0/Newtonsoft.Json.dll")
NUNIT = Path("/usr/lib/cli/nunit.framework-2.6.3/nunit.framework.dll")
SYSTEM = ("System.dll", "System.Core.dll", "System.Net.Http.dll")


def sources(*folders: Path) -> list[Path]:
    """Every .cs file under the folders, in a stable order."""
    return sorted(path for folder in folders for path in folder.rglob("*.cs"))


def compile_cs(
    files: Sequence[Path],
    out: Path,
    references: Sequence[Path | str] = (),
    target: str = "library",
    defines: Sequence[str] = (),
) -> Path:
    """Compiles `files` into `out` with warnings as errors (and the conditional compilation
    symbols `defines`); raises with mcs's own output."""
    command = [
        "mcs",
        f"-target:{target}",
        f"-out:{out}",
        "-langversion:7.2",
        "-warnaserror+",
        "-nowarn:1591",
        "-debug",
        *(f"-define:{name}" for name in defines),
        *(f"-r:{ref}" for ref in (*SYSTEM, *references)),
        *map(str, files),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise AssertionError(f"mcs failed:\n{done.stdout}{done.stderr}")
    return out


def copy_references(folder: Path, *references: Path) -> None:
    """Puts the referenced assemblies beside the built ones, where Mono looks for them."""
    for reference in references:
        (folder / reference.name).write_bytes(reference.read_bytes())
