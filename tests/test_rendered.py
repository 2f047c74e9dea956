"""json_object: reading a dict out of what Airflow rendered for a templated field."""

from __future__ import annotations

from collections import OrderedDict

import pytest

from airflow_provider_thordata.rendered import json_object

RECORD = {"taskId": "t-1", "fileSize": 0, "ok": True, "finishedAt": None, "tags": ["a"]}


@pytest.mark.parametrize("empty", [None, ""])
def test_no_value_is_none(empty):
    assert json_object(empty, "resource") is None


def test_a_mapping_is_taken_as_a_plain_dict():
    result = json_object(OrderedDict(RECORD), "resource")

    assert result == RECORD
    assert type(result) is dict


def test_json_text_of_an_object_is_read():
    assert json_object(
        '{"taskId": "t-1", "fileSize": 0, "ok": true, "finishedAt": null, "tags": ["a"]}', "x"
    ) == (RECORD)


def test_the_python_text_jinja_prints_for_a_dict_is_read_as_a_literal():
    # "{{ ti.xcom_pull('watch') }}" without render_template_as_native_obj renders the dict's repr.
    assert json_object(str(RECORD), "resource") == RECORD


def test_text_that_would_need_evaluating_is_refused_not_run():
    with pytest.raises(
        ValueError, match=r"event_data must be a dict, or a template rendering to one; got str"
    ):
        json_object("{'a': __import__('os').getcwd()}", "event_data")


@pytest.mark.parametrize("text", ["None", "null", "42", "'text'", "{'a': 1", "not json"])
def test_text_that_is_not_an_object_is_refused_with_how_to_pass_values_natively(text):
    with pytest.raises(ValueError, match=r"render_template_as_native_obj=True on the DAG") as caught:
        json_object(text, "resource")

    assert str(caught.value).startswith("resource must be a dict")
    assert "A list was given" not in str(caught.value)


@pytest.mark.parametrize("value", [[RECORD], str([RECORD]), '[{"taskId": "t-1"}]'])
def test_a_list_is_refused_with_a_hint_to_pick_one_item(value):
    with pytest.raises(ValueError, match="A list was given: pass one of its items"):
        json_object(value, "resource")


def test_the_refusal_quotes_at_most_the_start_of_the_value():
    long_text = "x" * 500

    with pytest.raises(ValueError, match="resource must be a dict") as caught:
        json_object(long_text, "resource")

    assert "x" * 61 not in str(caught.value)
