"""The Unity layer (`Runtime/Unity/`), the QuickStart sample and the manual's quick start,
compiled outside Unity against a stub of the UnityEngine types they use and the SDK's core:
once as the Editor and desktop build, once as a WebGL build (`UNITY_WEBGL`), whose transport
and timers call the jslib. Each assembly is built as Unity builds it, so the core is checked to
need no UnityEngine at all. The Editor build of the layer is then run under Mono against a real
server, with a small program playing the engine's part."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.support.csharp import NEWTONSOFT, PACKAGE, compile_cs, copy_references, sources
from tests.support.server import running_server

RUNTIME = PACKAGE / "Runtime"
UNITY = RUNTIME / "Unity"
STUBS = PACKAGE / "Tests" / "Stubs~"
SAMPLE = PACKAGE / "Samples~" / "QuickStart"
LAYER_RUN = PACKAGE / "Tests" / "LayerRun~"
MANUAL = PACKAGE / "Documentation~" / "index.md"
CODE_BLOCK = re.compile(r"```csharp\n(.*?)```", re.DOTALL)
JSLIB = PACKAGE / "Plugins" / "WebGL" / "MaratangWebSocket.jslib"
EXTERN = re.compile(r"static extern \w+ (Maratang\w+)\(([^)]*)\)")
JS_FUNCTION = re.compile(r"^  (Maratang\w+): function \(([^)]*)\)", re.MULTILINE)
BRIDGE = ("WebGLTransport.cs", "WebGLTimers.cs")
"""The C# files that import the jslib's functions."""


def build(folder: Path, defines: tuple[str, ...]) -> Path:
    """Builds UnityEngine (stub), Maratang, Maratang.Unity, the sample and the manual's quick
    start; returns the layer."""
    engine = compile_cs(sources(STUBS), folder / "UnityEngine.dll")
    core_files = [path for path in sources(RUNTIME) if UNITY not in path.parents]
    core = compile_cs(core_files, folder / "Maratang.dll", [NEWTONSOFT], defines=defines)
    layer = compile_cs(
        sources(UNITY), folder / "Maratang.Unity.dll", [NEWTONSOFT, core, engine], defines=defines
    )
    compile_cs(
        sources(SAMPLE),
        folder / "QuickStart.dll",
        [NEWTONSOFT, core, engine, layer],
        defines=defines,
    )
    return layer


@pytest.mark.parametrize("defines", [(), ("UNITY_WEBGL",)], ids=["editor-and-desktop", "webgl"])
def test_the_layer_and_the_sample_compile_for_each_platform(
    tmp_path: Path, defines: tuple[str, ...]
) -> None:
    layer = build(tmp_path, defines).read_bytes()
    assert b"MaratangBehaviour" in layer
    webgl = all(
        name in layer
        for name in (b"WebGLTransport", b"MaratangSocketConnect", b"MaratangTimerStart")
    )
    assert webgl == ("UNITY_WEBGL" in defines)  # the bridge is in WebGL builds only


def test_every_function_the_bridge_imports_is_in_the_jslib_with_its_arity() -> None:
    imports = "".join((UNITY / name).read_text() for name in BRIDGE)
    imported = {
        name: len([a for a in args.split(",") if a.strip()])
        for name, args in EXTERN.findall(imports)
    }
    exported = {
        name: len([a for a in args.split(",") if a.strip()])
        for name, args in JS_FUNCTION.findall(JSLIB.read_text())
    }
    assert imported
    assert imported == exported


def test_the_behaviour_plays_a_round_with_handlers_run_in_update(tmp_path: Path) -> None:
    layer = build(tmp_path, ())
    references = [NEWTONSOFT, tmp_path / "Maratang.dll", tmp_path / "UnityEngine.dll", layer]
    program = compile_cs(sources(LAYER_RUN), tmp_path / "LayerRun.exe", references, "exe")
    copy_references(tmp_path, NEWTONSOFT)
    with running_server("--fallback-tps", "400", env={"MARATANG_COALESCE_MS": "20"}) as server:
        run = subprocess.run(
            ["mono", "--debug", str(program), server.base_url],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "every handler ran inside Update, on the main thread" in run.stdout
    assert "OnDestroy disposed the client" in run.stdout
    assert "no client after OnDestroy" in run.stdout
