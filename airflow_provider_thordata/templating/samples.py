"""A sample event's variables, for trying templates: ``check`` uses it, and so can users' tests."""

from __future__ import annotations

from typing import Any

_TASK_ID = "2e9ddee0582a40a9b1f459831b1419e1"
_RESULT_BASE = (
    "https://th-scrapers-1303252866.cos.na-siliconvalley.myqcloud.com/scrapers/thordata/2025/06/07/"
)


def sample_variables() -> dict[str, Any]:
    """Return the variables of one ``SCRAPER.TASK.SUCCEEDED`` event, as a new dict on every call.

    ``resource`` is the task record of the example in Thordata's webhook documentation (its
    ``url`` written as the JSON string it is, the token shortened as the docs show it);
    ``eventData``, ``globals`` and ``airflow`` describe the same moment. Every value is
    JSON-friendly, as real event variables are.
    """
    return {
        "userId": "3406",
        "createdAt": "2025-06-07T06:33:14Z",
        "eventType": "SCRAPER.TASK.SUCCEEDED",
        "eventData": {
            "taskId": _TASK_ID,
            "spiderId": "amazon_product_by-url",
            "spiderName": "amazon.com",
            "status": "Ready",
            "previousStatus": "Running",
        },
        "resource": {
            "apiCode": 400,
            "apiErrorMsg": "",
            "apiKey": "289f5c53e47d616********************",
            "apiResponseTime": 28000,
            "apiResult": "",
            "apiUrl": "",
            "audioUrl": "",
            "createdAt": "2025-06-07T14:33:14+08:00",
            "csvUrl": _RESULT_BASE + "2e9ddee0582a40a9****************.csv",
            "errorNumber": 1,
            "fileSize": 1765,
            "finishedAt": "2025-06-07T14:33:44+08:00",
            "flow": 1765,
            "jsonUrl": _RESULT_BASE + "2e9ddee0582a40a9****************.json",
            "prodect_id": 3,
            "subtitleUrl": "",
            "successRate": 0,
            "taskId": _TASK_ID,
            "type": 0,
            "url": (
                '{"spider_errors":true,"spider_id":"3","spider_parameters":'
                '[{"url":"https://www.amazon.com/dp/B0DPMHRZ1W?th=1&psc=1"}]}'
            ),
            "userId": 3406,
            "userName": "Thor8444****",
            "videoUrl": "",
        },
        "globals": {"dateISO": "2025-06-07T06:33:14Z", "dateUnix": 1749277994},
        "airflow": {
            "dag_id": "scrape_and_notify",
            "task_id": "watch_scraper_task",
            "run_id": "manual__2025-06-07T06:30:00+00:00",
            "logical_date": "2025-06-07T06:30:00+00:00",
            "try_number": 1,
            "map_index": -1,
            "params": {},
        },
    }
