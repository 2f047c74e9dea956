"""``docs/examples.md`` shows the current example code and documents the demo as it behaves.

Convention: a line ``<!-- include: <file>:<name> -->`` is followed by a fenced block that holds
exactly the lines between ``# [START <name>]`` and ``# [END <name>]`` of that file, dedented,
without blank lines at either end.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from airflow_provider_thordata.testing import demo

REPO_ROOT = Path(__file__).resolve().parents[1]
DOC = REPO_ROOT / "docs" / "examples.md"
EXAMPLES = REPO_ROOT / "example_dags"
_INCLUDE = re.compile(
    r"^<!-- include: (?P<file>[^:\s]+):(?P<name>\w+) -->\n```python\n(?P<body>.*?)\n```$", re.M | re.S
)
_MARKER = re.compile(r"^\s*# \[(?P<kind>START|END) (?P<name>\w+)\]\s*$", re.M)


def section(path: Path, name: str) -> str:
    """Return the dedented lines between the START and END markers called ``name``."""
    lines = path.read_text().splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == f"# [START {name}]"]
    ends = [i for i, line in enumerate(lines) if line.strip() == f"# [END {name}]"]
    if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
        raise ValueError(f"{path.name} must hold one '# [START {name}]' before one '# [END {name}]'")
    return textwrap.dedent("\n".join(lines[starts[0] + 1 : ends[0]])).strip("\n")


def includes() -> list[re.Match[str]]:
    return list(_INCLUDE.finditer(DOC.read_text()))


def marked_sections() -> set[tuple[str, str]]:
    found = set()
    for path in sorted(EXAMPLES.glob("*.py")):
        for match in _MARKER.finditer(path.read_text()):
            if match["kind"] == "START":
                found.add((f"example_dags/{path.name}", match["name"]))
    return found


@pytest.mark.parametrize("include", includes(), ids=lambda m: m["name"])
def test_each_included_block_is_the_current_code_between_its_markers(include):
    assert include["body"] == section(REPO_ROOT / include["file"], include["name"])


def test_every_marked_section_of_the_examples_is_included_once():
    included = [(m["file"], m["name"]) for m in includes()]

    assert sorted(included) == sorted(marked_sections())


def test_every_marker_has_its_pair(tmp_path):
    for file, name in marked_sections():
        section(REPO_ROOT / file, name)

    broken = tmp_path / "broken.py"
    broken.write_text("# [START a]\nx = 1\n")
    with pytest.raises(ValueError, match=r"one '# \[START a\]' before one '# \[END a\]'"):
        section(broken, "a")


def test_a_stale_block_would_be_caught(tmp_path):
    include = includes()[0]
    stale = include["body"].replace("dashboard", "dashbaord", 1)

    assert stale != section(REPO_ROOT / include["file"], include["name"])


def test_the_documented_environment_variables_are_the_ones_the_demo_and_examples_read():
    documented = set(re.findall(r"\bTHORDATA_[A-Z_]+\b", DOC.read_text()))
    sources = [Path(demo.__file__).read_text(), *(path.read_text() for path in EXAMPLES.glob("*.py"))]
    read = set(re.findall(r"\"(THORDATA_[A-Z_]+)\"", "\n".join(sources)))

    assert documented == read
    assert set(demo.REAL_MODE_VARIABLES) | {"THORDATA_WEBHOOK_URL"} <= documented


def test_the_documented_demo_options_exist():
    result = subprocess.run(
        [sys.executable, "-m", "airflow_provider_thordata.testing.demo", "--help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
    )

    for option in re.findall(r"testing\.demo((?: --[a-z-]+ \S+)+)", DOC.read_text())[0].split()[::2]:
        assert option in result.stdout


def test_the_makefile_demo_target_runs_the_documented_module():
    makefile = (REPO_ROOT / "Makefile").read_text()

    assert re.search(
        r"^demo: \$\(INSTALLED\)\n\t\$\(BIN\)/python -m airflow_provider_thordata\.testing\.demo",
        makefile,
        re.M,
    )
