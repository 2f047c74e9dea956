"""WatchState: which events each status observation brings, in lifecycle order, none twice."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_thordata.events import LifecycleEvent
from airflow_provider_thordata.scraper_api import TaskStatus, normalize_status
from airflow_provider_thordata.watch import STATE_KEY, PlannedEvent, WatchState

RUNNING, SUCCEEDED, FAILED = LifecycleEvent.RUNNING, LifecycleEvent.TASK_SUCCEEDED, LifecycleEvent.TASK_FAILED
WITH_FILE = {"jsonUrl": "http://files/t.json", "csvUrl": "http://files/t.csv", "fileSize": 1765}
EMPTY = {"jsonUrl": "http://files/t.json", "csvUrl": "http://files/t.csv", "fileSize": 0}


def observe(
    state: WatchState,
    raw: dict[str, str],
    *,
    resource: dict[str, Any] | None = None,
    empty_result_is_failure: bool = True,
) -> list[tuple[str, LifecycleEvent, bool]]:
    """Apply one observation as a watcher does: plan the events, emit them, mark them."""
    emitted = []
    observed = {task_id: (normalize_status(text), text) for task_id, text in raw.items()}
    for change in state.changes(observed):
        planned = state.events_for(
            change, resource=resource or WITH_FILE, empty_result_is_failure=empty_result_is_failure
        )
        emitted += [(change.task_id, item.event, item.inferred) for item in planned]
        state.mark(change, [item.event for item in planned])
    return emitted


def resumed(state: WatchState, task_ids: list[str] | None = None) -> WatchState:
    """Return the state as a later poke, deferral or retry reads it back from the store."""
    stored = json.loads(json.dumps(state.to_json()))
    return WatchState.start(task_ids or list(state.tasks), stored)


# -- lifecycle order ---------------------------------------------------------------------------


def test_pending_then_running_then_succeeded_emits_running_then_task_succeeded():
    state = WatchState.start(["t1"])

    assert observe(state, {"t1": "Pending"}) == []
    assert observe(state, {"t1": "Running"}) == [("t1", RUNNING, False)]
    assert observe(state, {"t1": "Ready"}) == [("t1", SUCCEEDED, False)]
    assert state.finished()
    assert state.failed_tasks() == []


def test_a_task_seen_pending_and_then_finished_still_emits_running_first_marked_inferred():
    state = WatchState.start(["t1"])
    observe(state, {"t1": "Pending"})

    assert observe(state, {"t1": "Ready"}) == [("t1", RUNNING, True), ("t1", SUCCEEDED, False)]
    assert state.tasks["t1"].emitted == ["RUNNING", "TASK_SUCCEEDED"]


def test_a_task_first_seen_finished_emits_an_inferred_running_too():
    state = WatchState.start(["t1"])

    assert observe(state, {"t1": "Failed"}) == [("t1", RUNNING, True), ("t1", FAILED, False)]
    assert state.failed_tasks() == ["t1"]


@pytest.mark.parametrize("history", [["Pending"], [], ["Running"]], ids=["pending", "unseen", "running"])
def test_a_cancelled_task_emits_only_task_failed(history):
    state = WatchState.start(["t1"])
    for raw in history:
        observe(state, {"t1": raw})

    assert observe(state, {"t1": "cancelled"}) == [("t1", FAILED, False)]
    assert state.failed_tasks() == ["t1"]


def test_a_task_that_succeeded_with_no_content_ran_and_failed():
    state = WatchState.start(["t1"])

    assert observe(state, {"t1": "Ready"}, resource=EMPTY) == [("t1", RUNNING, True), ("t1", FAILED, False)]
    assert state.failed_tasks() == ["t1"]


def test_an_empty_result_succeeds_when_the_user_opts_out():
    state = WatchState.start(["t1"])

    events = observe(state, {"t1": "Ready"}, resource=EMPTY, empty_result_is_failure=False)

    assert events == [("t1", RUNNING, True), ("t1", SUCCEEDED, False)]


def test_several_tasks_each_get_their_own_events():
    state = WatchState.start(["t1", "t2", "t3"])
    observe(state, {"t1": "Pending", "t2": "Running", "t3": "Pending"})

    events = observe(state, {"t1": "Ready", "t2": "Running", "t3": "Failed"})

    assert events == [
        ("t1", RUNNING, True),
        ("t1", SUCCEEDED, False),
        ("t3", RUNNING, True),
        ("t3", FAILED, False),
    ]
    assert not state.finished()
    assert observe(state, {"t2": "Ready"}) == [("t2", SUCCEEDED, False)]
    assert state.finished()
    assert state.failed_tasks() == ["t3"]


# -- nothing twice -----------------------------------------------------------------------------


def test_repeated_observations_of_the_same_status_bring_nothing_new():
    state = WatchState.start(["t1"])
    observe(state, {"t1": "Running"})

    assert observe(state, {"t1": "Running"}) == []
    assert observe(resumed(state), {"t1": "Running"}) == []


def test_another_spelling_of_the_same_status_is_recorded_without_a_second_event():
    state = WatchState.start(["t1"])
    observe(state, {"t1": "Running"})

    assert observe(state, {"t1": "collecting"}) == []
    assert state.tasks["t1"].raw == "collecting"


def test_nothing_follows_a_final_event_whatever_the_service_reports_later():
    state = WatchState.start(["t1"])
    observe(state, {"t1": "Ready"})

    assert state.changes({"t1": (TaskStatus.FAILED, "Failed")}) == []
    assert observe(state, {"t1": "Failed"}) == []
    assert observe(state, {"t1": "Running"}) == []
    assert state.tasks["t1"].final_event == "TASK_SUCCEEDED"
    assert state.tasks["t1"].raw == "Ready"


def test_a_task_missing_from_an_observation_is_left_as_it_was():
    state = WatchState.start(["t1", "t2"])
    observe(state, {"t1": "Running", "t2": "Running"})

    assert observe(state, {"t1": "Ready"}) == [("t1", SUCCEEDED, False)]
    assert state.tasks["t2"].status is TaskStatus.RUNNING


def test_an_unknown_status_brings_no_event_and_a_later_known_one_does():
    state = WatchState.start(["t1"])

    assert observe(state, {"t1": "paused-by-ops"}) == []
    assert state.known_statuses() == {"t1": "unknown"}
    assert observe(state, {"t1": "Running"}) == [("t1", RUNNING, False)]


def test_events_for_a_change_already_emitted_are_not_planned_again():
    state = WatchState.start(["t1"])
    observe(state, {"t1": "Running"})
    (change,) = state.changes({"t1": (TaskStatus.SUCCEEDED, "Ready")})

    planned = state.events_for(change, resource=WITH_FILE, empty_result_is_failure=True)

    assert planned == [PlannedEvent(SUCCEEDED)]


# -- stored between pokes, deferrals and retries ----------------------------------------------


def test_the_state_round_trips_through_json():
    state = WatchState.start(["t1", "t2"])
    state.deadline, state.deadline_try = 1_749_278_594.5, 2
    observe(state, {"t1": "Pending", "t2": "Running"})
    observe(state, {"t1": "Ready"})

    stored = json.loads(json.dumps(state.to_json()))
    rebuilt = WatchState.from_json(stored)

    assert rebuilt == state
    assert stored == {
        "deadline": 1_749_278_594.5,
        "deadline_try": 2,
        "tasks": {
            "t1": {
                "status": "succeeded",
                "raw": "Ready",
                "emitted": ["RUNNING", "TASK_SUCCEEDED"],
                "final_event": "TASK_SUCCEEDED",
            },
            "t2": {"status": "running", "raw": "Running", "emitted": ["RUNNING"], "final_event": None},
        },
    }


def test_a_resumed_state_goes_on_where_the_previous_attempt_stopped():
    state = WatchState.start(["t1"])
    observe(state, {"t1": "Running"})

    later = resumed(state)

    assert observe(later, {"t1": "Ready"}) == [("t1", SUCCEEDED, False)]


def test_a_final_event_not_recorded_before_a_crash_is_reported_again():
    state = WatchState.start(["t1"])
    observe(state, {"t1": "Running"})
    saved = resumed(state)
    (change,) = state.changes({"t1": (TaskStatus.SUCCEEDED, "Ready")})
    assert state.events_for(change, resource=WITH_FILE, empty_result_is_failure=True) == [
        PlannedEvent(SUCCEEDED)
    ]
    # The worker dies after delivering TASK_SUCCEEDED, before marking and saving.

    assert observe(saved, {"t1": "Ready"}) == [("t1", SUCCEEDED, False)]
    assert saved.finished()


def test_a_terminal_status_stored_without_its_final_event_counts_as_a_change():
    stored = {"tasks": {"t1": {"status": "succeeded", "raw": "Ready", "emitted": ["RUNNING"]}}}
    state = WatchState.start(["t1"], stored)

    assert observe(state, {"t1": "Ready"}) == [("t1", SUCCEEDED, False)]


def test_resuming_watches_exactly_the_given_tasks_and_keeps_the_deadline():
    state = WatchState.start(["old", "kept"])
    state.deadline, state.deadline_try = 100.0, 1
    observe(state, {"old": "Running", "kept": "Running"})

    later = resumed(state, ["kept", "new"])

    assert list(later.tasks) == ["kept", "new"]
    assert later.tasks["kept"].emitted == ["RUNNING"]
    assert later.tasks["new"].status is None
    assert (later.deadline, later.deadline_try) == (100.0, 1)


def test_known_statuses_give_the_trigger_its_starting_point():
    state = WatchState.start(["t1", "t2"])
    observe(state, {"t1": "Running"})

    assert state.known_statuses() == {"t1": "running", "t2": None}


@pytest.mark.parametrize(
    "stored",
    [
        {"tasks": {"t1": {"status": "Ready"}}},
        {"tasks": {"t1": {"emitted": ["SUCCEEDED"]}}},
        {"tasks": {"t1": {"final_event": "DONE"}}},
        {"tasks": ["t1"]},
        {"tasks": {"t1": "running"}},
    ],
)
def test_a_stored_state_this_version_did_not_write_is_refused_naming_the_key(stored):
    with pytest.raises(ValueError, match=rf"key '{STATE_KEY}'.*delete that key to watch the tasks afresh"):
        WatchState.start(["t1"], stored)
