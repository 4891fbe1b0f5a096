"""Every asset of the Unity package has its `.meta` (a package installed by git URL is
read-only, and Unity ignores an asset without one), each as the generator makes it, with a
GUID of its own; and no `.meta` is left over from a removed asset."""

from __future__ import annotations

from scripts.make_unity_meta import assets, expected, present


def test_every_asset_has_its_meta_and_no_meta_is_left_over() -> None:
    wanted = expected()
    assert wanted, "the package has no assets"
    stale = [m.name for m, text in wanted.items() if not m.exists() or m.read_text() != text]
    assert not stale, (
        f"missing or stale .meta files (run python scripts/make_unity_meta.py): {stale}"
    )
    assert present() == set(wanted), "a .meta whose asset is gone"


def test_guids_are_unique_and_the_jslib_is_a_webgl_plugin() -> None:
    texts = expected().values()
    guids = [line for text in texts for line in text.splitlines() if line.startswith("guid: ")]
    assert len(set(guids)) == len(guids)
    jslibs = [p for p in assets() if p.suffix == ".jslib"]
    assert jslibs
    for jslib in jslibs:
        assert (
            "WebGL: WebGL\n    second:\n      enabled: 1"
            in expected()[jslib.with_name(jslib.name + ".meta")]
        )
