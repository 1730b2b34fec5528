"""The contract every study store keeps, whatever its URL (``cosearch.study.Storage``).

Each test runs on an in-memory SQLite store, a SQLite file, and PostgreSQL when
``COSEARCH_TEST_POSTGRES_URL`` names a server (``.ci/postgres.sh`` starts one; skipped otherwise):
studies are created and loaded, trials added and claimed, no trial is ever held by two workers,
trials of lost workers are requeued, and a study survives an export/import round trip through JSON.
Only the package-level names of :mod:`cosearch.study` are used. Study names are unique per test, so
a shared PostgreSQL database needs no cleaning (each test still deletes what it made).
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid

import pytest

from cosearch.study import Storage, StudyExistsError, StudyNotFoundError, TrialStateError, config_hash

POSTGRES_URL = os.environ.get("COSEARCH_TEST_POSTGRES_URL")
CONFIG = {"workload": "dqn", "budget": {"area_mm2": 12.5}, "seeds": [1, 2, 3]}
N_TRIALS = 6


def hw_params(n: int) -> dict:
    """A trial's hardware parameters (nested, as real points are)."""
    return {"mesh_x": 4 + n, "glb": {"kb": 32 * (n + 1)}}


@pytest.fixture(params=["sqlite-memory", "sqlite-file", "postgresql"])
def url(request, tmp_path) -> str:
    if request.param == "sqlite-memory":
        return "sqlite://"
    if request.param == "sqlite-file":
        return f"sqlite:///{tmp_path / 'studies.db'}"
    if not POSTGRES_URL:
        pytest.skip("COSEARCH_TEST_POSTGRES_URL is not set")
    return POSTGRES_URL


@pytest.fixture
def store(url):
    with Storage(url) as storage:
        yield storage


@pytest.fixture
def study_name(store):
    """A fresh study name; the study (if made) is deleted afterwards."""
    name = f"contract-{uuid.uuid4().hex[:10]}"
    yield name
    for made in (name, f"{name}-copy"):
        if store.has_study(made):
            store.delete_study(made)


def fill(store, name: str) -> list[int]:
    """Create study ``name`` with :data:`N_TRIALS` pending trials; their ids."""
    store.create_study(name, CONFIG, estimator="cacti-65nm", estimator_hash="e1")
    return store.add_trials(name, [(n, hw_params(n), {"tag": "init"}) for n in range(N_TRIALS)])


def test_create_and_load_a_study(store, study_name):
    created = store.create_study(study_name, CONFIG, objective="energy_pj")
    loaded = store.load_study(study_name)
    assert loaded == created
    assert loaded.config == CONFIG and loaded.config_hash == config_hash(CONFIG)
    assert loaded.objective == "energy_pj" and loaded.direction == "minimize"
    assert study_name in [s.name for s in store.list_studies()]
    with pytest.raises(StudyExistsError):
        store.create_study(study_name, CONFIG)
    with pytest.raises(StudyNotFoundError):
        store.load_study(f"{study_name}-absent")


def test_added_trials_are_pending_in_number_order(store, study_name):
    ids = fill(store, study_name)
    assert len(set(ids)) == N_TRIALS
    next_id = store.add_trial(study_name, None, hw_params(N_TRIALS))  # None: the next free number
    trials = store.trials(study_name)
    assert [t.number for t in trials] == list(range(N_TRIALS + 1))
    assert [t.id for t in trials] == ids + [next_id]
    assert all(t.state == "pending" and t.attempts == 0 for t in trials)
    assert trials[2].hw_params == hw_params(2) and trials[2].proposal == {"tag": "init"}
    with pytest.raises(TrialStateError):
        store.add_trial(study_name, 0, hw_params(0))  # number taken
    assert store.count_trials(study_name)["pending"] == N_TRIALS + 1


def test_claims_hand_out_each_pending_trial_once(store, study_name):
    fill(store, study_name)
    claimed = [store.claim_trial(study_name, f"w{i % 2}") for i in range(N_TRIALS)]
    assert [t.number for t in claimed] == list(range(N_TRIALS))  # lowest number first
    assert all(t.state == "running" and t.attempts == 1 for t in claimed)
    assert store.claim_trial(study_name, "late") is None
    assert store.running_workers(study_name) == {"w0": N_TRIALS // 2, "w1": N_TRIALS - N_TRIALS // 2}
    store.complete_trial(claimed[0].id, {"edp": 2.0, "valid": True}, worker_id="w0")
    with pytest.raises(TrialStateError):  # held by w0, not w1
        store.complete_trial(claimed[2].id, {"edp": 1.0, "valid": True}, worker_id="w1")
    assert store.best_trial(study_name).number == 0


def test_concurrent_claims_never_share_a_trial(store, url, study_name):
    if store.in_memory:
        pytest.skip("an in-memory store is one connection in one process")
    fill(store, study_name)
    got: dict[str, list[int]] = {"a": [], "b": []}

    def worker(worker_id: str) -> None:
        with Storage(url) as own:  # a connection of its own, as another process would have
            while (trial := own.claim_trial(study_name, worker_id)) is not None:
                got[worker_id].append(trial.number)

    threads = [threading.Thread(target=worker, args=(w,)) for w in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not set(got["a"]) & set(got["b"])
    assert sorted(got["a"] + got["b"]) == list(range(N_TRIALS))


def test_trials_of_lost_workers_are_requeued(store, study_name):
    fill(store, study_name)
    lost = store.claim_trial(study_name, "lost")
    alive = store.claim_trial(study_name, "alive")
    assert store.requeue_stale(study_name, older_than_s=3600) == []  # both beat recently
    assert store.requeue_stale(study_name, older_than_s=3600, worker_ids=["lost"]) == [lost.number]
    again = store.claim_trial(study_name, "new")  # the lowest pending number: the requeued one
    assert (again.number, again.attempts, again.worker_id) == (lost.number, 2, "new")
    with pytest.raises(TrialStateError):  # the lost worker comes back: it no longer holds the trial
        store.complete_trial(lost.id, {"edp": 1.0}, worker_id="lost")
    time.sleep(0.05)
    store.heartbeat(again.id)
    assert store.requeue_stale(study_name, older_than_s=0.03) == [alive.number]  # silent for longer
    assert store.trial(study_name, alive.number).state == "pending"


def test_export_import_round_trip(store, study_name):
    ids = fill(store, study_name)
    trial = store.claim_trial(study_name, "w")
    store.record_layer_result(trial.id, "conv1", count=2, mapping={"factors": [[1, 2], [3, 4]]},
                              energy_pj=3.0, cycles=5.0, edp=15.0, evaluations=100, optimizer="auto", seed=1)
    store.record_layer_result(trial.id, "fc", error="no valid mapping")
    store.complete_trial(trial.id, {"energy_pj": 6.0, "cycles": 5.0, "edp": 30.0, "valid": True}, worker_id="w")
    store.fail_trial(ids[1], "broke")
    text = store.export(study_name)
    doc = json.loads(text)
    assert doc["format"] == "cosearch-study" and len(doc["trials"]) == N_TRIALS
    assert [r["layer"] for r in doc["trials"][0]["layers"]] == ["conv1", "fc"]

    copy = store.import_study(text, name=f"{study_name}-copy")
    assert copy.config_hash == store.load_study(study_name).config_hash
    copied = json.loads(store.export(copy.name))
    assert copied["trials"] == doc["trials"]
    assert {**copied["study"], "name": study_name} == doc["study"]
    assert store.best_trial(copy.name).number == trial.number

    with Storage("sqlite://") as elsewhere:  # a store of another kind reads it back unchanged
        elsewhere.import_study(text)
        assert elsewhere.export(study_name) == text
