"""The browser client's modules (`webgl/js/`) under Node's own test runner: every golden vector
of `protocol/vectors/v1.json` through its JSON codec, every reducer vector, the backoff and
close-code policy, the seq bookkeeping, and the client against a stand-in socket."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "webgl" / "js" / "tests"
COUNT = re.compile(r"^\S+ (pass|fail|skipped|todo) (\d+)$", re.MULTILINE)


def test_the_js_client_passes_its_node_tests() -> None:
    node = shutil.which("node")
    assert node is not None, "Node.js (18 or newer) is needed to test the browser client"
    files = sorted(TESTS.glob("*.test.mjs"))
    assert files, f"no Node tests in {TESTS}"
    run = subprocess.run(
        [node, "--test", "--test-reporter=spec", *map(str, files)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, f"node --test failed:\n{output}"
    counts = dict(COUNT.findall(run.stdout))
    assert int(counts.get("pass", "0")) > 0, f"node ran no tests:\n{output}"
    assert counts.get("skipped") == "0", output
    assert counts.get("todo") == "0", output
