from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_thordata.templating import DEFAULT_PAYLOAD_TEMPLATE
from airflow_provider_thordata.templating._cli import main
from airflow_provider_thordata.templating.samples import sample_variables

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_in_process(*arguments: str | Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()

    code = main([str(argument) for argument in arguments], out=out, err=err)

    return code, out.getvalue(), err.getvalue()


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.timeout(60)
def test_the_module_runs_as_a_command_and_renders_valid_templates(tmp_path: Path) -> None:
    payload = write(tmp_path, "payload.json", DEFAULT_PAYLOAD_TEMPLATE)
    headers = write(tmp_path, "headers.json", '{"X-Task-Id": "{{ resource.taskId }}"}')

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "airflow_provider_thordata.templating",
            "check",
            str(payload),
            "--headers",
            str(headers),
        ],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    body, rendered_headers = result.stdout.splitlines()
    assert json.loads(body)["resource"] == sample_variables()["resource"]
    assert json.loads(rendered_headers) == {"X-Task-Id": "2e9ddee0582a40a9b1f459831b1419e1"}
    assert result.stderr == f"{payload}: valid\n{headers}: valid\n"
    assert "airflow.sdk" not in result.stderr


@pytest.mark.timeout(60)
def test_the_command_exits_1_and_prints_the_file_line_and_column_of_an_error(tmp_path: Path) -> None:
    payload = write(tmp_path, "payload.json", '{\n  "a": {{ nope }}\n}')

    result = subprocess.run(
        [sys.executable, "-m", "airflow_provider_thordata.templating", "check", str(payload)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"{payload}:2:8: error: unknown variable 'nope'")
    assert result.stderr.endswith('   2 |   "a": {{ nope }}\n     |        ^\n')


def test_errors_in_both_files_are_all_reported(tmp_path: Path) -> None:
    payload = write(tmp_path, "payload.json", '{"a": 1,}')
    headers = write(tmp_path, "headers.json", '{"X-A": 1}')

    code, out, err = run_in_process("check", payload, "--headers", headers)

    assert code == 1
    assert out == ""
    assert f"{payload}:1:8: error: trailing comma" in err
    assert f"{headers}:1:9: error: the value of the header 'X-A' must be a JSON string" in err


def test_a_reserved_header_is_a_warning_with_its_position_and_does_not_fail(tmp_path: Path) -> None:
    payload = write(tmp_path, "payload.json", "{}")
    headers = write(tmp_path, "headers.json", '{"X-A": "a",\n "content-type": "text/plain"}')

    code, out, err = run_in_process("check", payload, "--headers", headers)

    assert code == 0
    assert f"{headers}:2:2: warning: the header template sets 'content-type'" in err
    assert out == '{}\n{"X-A": "a"}\n'


def test_a_sample_file_replaces_the_built_in_event(tmp_path: Path) -> None:
    payload = write(tmp_path, "payload.json", '{"e": "{{ eventType }}", "r": {{ resource.taskId }}}')
    sample = write(tmp_path, "event.json", '{"eventType": "TEST", "resource": {"taskId": "t-1"}}')

    code, out, err = run_in_process("check", payload, "--sample", sample)

    assert (code, out) == (0, '{"e":"TEST","r":"t-1"}\n'), err


@pytest.mark.parametrize(
    ("sample_text", "message"),
    [
        ('{"eventType": }', "event.json:1:15: error: the sample is not JSON: Expecting value"),
        ("[1]", "event.json: error: the sample must be a JSON object of event variables"),
        ('{"eventType": "x", "TasksID": 1}', "event.json: error: the sample has unknown variables TasksID"),
    ],
)
def test_a_bad_sample_is_reported_and_fails(tmp_path: Path, sample_text: str, message: str) -> None:
    payload = write(tmp_path, "payload.json", "{}")
    sample = write(tmp_path, "event.json", sample_text)

    code, _, err = run_in_process("check", payload, "--sample", sample)

    assert code == 1
    assert f"{tmp_path}/{message}" in err


def test_render_errors_against_the_sample_fail_with_their_positions(tmp_path: Path) -> None:
    payload = write(tmp_path, "payload.json", '{"n": {{ userId + 1 }}}')
    headers = write(tmp_path, "headers.json", '{"X-Data": "{{ resource }}"}')

    code, out, err = run_in_process("check", payload, "--headers", headers)

    assert (code, out) == (1, "")
    assert f"{headers}:1:13: error: the header 'X-Data': placeholder {{{{ resource }}}}" in err
    assert err.startswith(
        f"{payload}:1:7: error: placeholder {{{{ userId + 1 }}}} at line 1, column 7 failed: TypeError"
    )


def test_unreadable_files_are_reported(tmp_path: Path) -> None:
    not_utf8 = tmp_path / "latin1.json"
    not_utf8.write_bytes(b'{"a": "\xe9"}')

    code, _, err = run_in_process("check", tmp_path / "missing.json", "--headers", not_utf8)

    assert code == 1
    assert f"{tmp_path / 'missing.json'}: error: cannot read it: No such file or directory" in err
    assert f"{not_utf8}: error: the file is not UTF-8 text" in err


def test_a_byte_order_mark_at_the_start_of_a_file_is_ignored(tmp_path: Path) -> None:
    payload = tmp_path / "payload.json"
    payload.write_bytes(b'\xef\xbb\xbf{"a": "{{ userId }}"}')

    code, out, _ = run_in_process("check", payload)

    assert (code, out) == (0, '{"a":"3406"}\n')


def test_usage_errors_exit_2_like_every_argparse_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit, match="2"):
        main(["check"])

    assert "the following arguments are required: payload" in capsys.readouterr().err
