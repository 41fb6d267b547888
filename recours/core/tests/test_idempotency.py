import pytest

from recours.core.errors import Conflict
from recours.core.idempotency import run_once
from recours.core.models import IdempotencyRecord, RateCounter
from recours.testing import NOW


class Action:
    """Writes a row each time it runs, and counts its calls."""

    def __init__(self, fail: bool = False) -> None:
        self.calls = 0
        self.fail = fail

    def __call__(self) -> tuple[int, dict]:
        self.calls += 1
        row = RateCounter.objects.create(key=f"row-{self.calls}", window_start=NOW)
        if self.fail:
            raise RuntimeError("provider down")
        return 201, {"id": row.pk}


def test_it_runs_the_action_once_and_replays_the_answer(db):
    # given
    action = Action()
    first = run_once("api:orgs", "key-1", {"name": "a"}, action)

    # when
    second = run_once("api:orgs", "key-1", {"name": "a"}, action)

    # then
    assert second == first
    assert first[0] == 201
    assert action.calls == 1
    assert RateCounter.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1


def test_it_refuses_the_same_key_with_another_payload(db):
    # given
    action = Action()
    run_once("api:orgs", "key-1", {"name": "a"}, action)

    # when
    with pytest.raises(Conflict) as raised:
        run_once("api:orgs", "key-1", {"name": "b"}, action)

    # then
    assert raised.value.code == "idempotency_key_reused"
    assert action.calls == 1
    assert RateCounter.objects.count() == 1


def test_it_scopes_keys(db):
    # given
    action = Action()
    run_once("api:orgs", "key-1", {"name": "a"}, action)

    # when
    run_once("api:other", "key-1", {"name": "a"}, action)

    # then
    assert action.calls == 2


def test_it_rolls_back_and_stores_nothing_when_the_action_fails(db):
    # given
    action = Action(fail=True)

    # when
    with pytest.raises(RuntimeError):
        run_once("api:orgs", "key-1", {"name": "a"}, action)

    # then
    assert RateCounter.objects.count() == 0
    assert IdempotencyRecord.objects.count() == 0


def test_it_runs_again_after_a_failed_attempt(db):
    # given
    with pytest.raises(RuntimeError):
        run_once("api:orgs", "key-1", {"name": "a"}, Action(fail=True))

    # when
    status, _body = run_once("api:orgs", "key-1", {"name": "a"}, Action())

    # then
    assert status == 201
    assert RateCounter.objects.count() == 1
