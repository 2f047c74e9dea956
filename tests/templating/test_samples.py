from __future__ import annotations

import datetime
import json

from airflow_provider_thordata.templating import ALLOWED_VARIABLES
from airflow_provider_thordata.templating.samples import sample_variables

SEED_RESOURCE_FIELDS = {
    "apiCode", "apiErrorMsg", "apiKey", "apiResponseTime", "apiResult", "apiUrl", "audioUrl", "createdAt",
    "csvUrl", "errorNumber", "fileSize", "finishedAt", "flow", "jsonUrl", "prodect_id", "subtitleUrl",
    "successRate", "taskId", "type", "url", "userId", "userName", "videoUrl",
}  # fmt: skip


def test_the_sample_sets_every_allowed_variable_and_nothing_else() -> None:
    assert set(sample_variables()) == ALLOWED_VARIABLES


def test_the_sample_is_a_succeeded_event_with_the_seed_example_resource() -> None:
    sample = sample_variables()

    assert sample["eventType"] == "SCRAPER.TASK.SUCCEEDED"
    assert set(sample["resource"]) == SEED_RESOURCE_FIELDS
    assert sample["resource"]["taskId"] == sample["eventData"]["taskId"] == "2e9ddee0582a40a9b1f459831b1419e1"
    assert json.loads(sample["resource"]["url"])["spider_parameters"][0]["url"].endswith("?th=1&psc=1")


def test_the_sample_holds_json_values_only() -> None:
    sample = sample_variables()

    assert json.loads(json.dumps(sample, allow_nan=False)) == sample


def test_the_dates_of_the_sample_agree() -> None:
    sample = sample_variables()

    created = datetime.datetime.fromisoformat(sample["createdAt"].replace("Z", "+00:00"))
    assert sample["globals"]["dateISO"] == sample["createdAt"]
    assert sample["globals"]["dateUnix"] == int(created.timestamp())
    assert datetime.datetime.fromisoformat(sample["airflow"]["logical_date"]) < created


def test_each_call_returns_a_fresh_copy() -> None:
    first = sample_variables()
    first["resource"]["taskId"] = "changed"
    first["airflow"]["params"]["x"] = 1

    second = sample_variables()

    assert second["resource"]["taskId"] == "2e9ddee0582a40a9b1f459831b1419e1"
    assert second["airflow"]["params"] == {}
