"""Writes a Unity `.meta` file beside every file and folder of the Unity package
(`webgl/unity/`). A package installed by git URL is read-only, and Unity ignores any asset in
it without a `.meta`: the jslib, the scripts, everything. Each GUID is derived from the
asset's path, so it never changes between runs or machines.

Folders whose name ends in `~` and dotfiles are hidden from Unity and get none. Run after
adding, moving or removing a file of the package; a test fails while a `.meta` is missing,
stale or left over.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "webgl" / "unity"
NAME = "com.maratang.sdk"

TAIL = "  userData: \n  assetBundleName: \n  assetBundleVariant: \n"
SIMPLE = "{importer}:\n  externalObjects: {{}}\n" + TAIL
SCRIPT = (
    "MonoImporter:\n  externalObjects: {}\n  serializedVersion: 2\n  defaultReferences: []\n"
    "  executionOrder: 0\n  icon: {instanceID: 0}\n" + TAIL
)
WEBGL_PLUGIN = (
    "PluginImporter:\n  externalObjects: {}\n  serializedVersion: 2\n  iconMap: {}\n"
    "  executionOrder: {}\n  defineConstraints: []\n  isPreloaded: 0\n  isOverridable: 0\n"
    "  isExplicitlyReferenced: 0\n  validateReferences: 1\n  platformData:\n"
    "  - first:\n      Any: \n    second:\n      enabled: 0\n      settings: {}\n"
    "  - first:\n      Editor: Editor\n    second:\n      enabled: 0\n"
    "      settings:\n        DefaultValueInitialized: true\n"
    "  - first:\n      WebGL: WebGL\n    second:\n      enabled: 1\n      settings: {}\n" + TAIL
)


def importer(path: Path) -> str:
    """The importer section Unity writes for an asset of this kind."""
    if path.is_dir():
        return "folderAsset: yes\n" + SIMPLE.format(importer="DefaultImporter")
    if path.suffix == ".cs":
        return SCRIPT
    if path.suffix == ".jslib":
        return WEBGL_PLUGIN
    if path.suffix == ".asmdef":
        return SIMPLE.format(importer="AssemblyDefinitionImporter")
    if path.name == "package.json":
        return SIMPLE.format(importer="PackageManifestImporter")
    if path.suffix in (".json", ".md", ".txt", ".xml"):
        return SIMPLE.format(importer="TextScriptImporter")
    return SIMPLE.format(importer="DefaultImporter")


def guid(path: Path) -> str:
    where = path.relative_to(PACKAGE).as_posix()
    return hashlib.md5(f"{NAME}/{where}".encode(), usedforsecurity=False).hexdigest()


def assets(folder: Path = PACKAGE) -> Iterator[Path]:
    """Everything Unity imports in the package: no dotfiles, no `~` folders, no metas."""
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.name.endswith(("~", ".meta")):
            continue
        yield path
        if path.is_dir():
            yield from assets(path)


def meta_of(path: Path) -> Path:
    return path.with_name(path.name + ".meta")


def render(path: Path) -> str:
    return f"fileFormatVersion: 2\nguid: {guid(path)}\n{importer(path)}"


def expected() -> dict[Path, str]:
    return {meta_of(path): render(path) for path in assets() if path != PACKAGE}


def present() -> set[Path]:
    """Every `.meta` in the package outside the folders Unity does not see."""
    hidden = [p for p in PACKAGE.rglob("*") if p.is_dir() and p.name.endswith("~")]
    return {
        meta
        for meta in PACKAGE.rglob("*.meta")
        if not any(folder in meta.parents for folder in hidden)
    }


if __name__ == "__main__":
    wanted = expected()
    for meta, text in wanted.items():
        meta.write_text(text, encoding="utf-8")
    for meta in present() - set(wanted):
        meta.unlink()
        print(f"removed {meta.relative_to(ROOT)}")
    print(f"wrote {len(wanted)} .meta files", file=sys.stderr)
