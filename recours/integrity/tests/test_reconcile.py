"""Findings become anomalies with their integrity case, once."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from recours.cases.models import Case, CaseEvent
from recours.commerce.models import Holding
from recours.integrity import reconcile
from recours.integrity.models import Anomaly, AnomalyKind, Correction
from recours.integrity.tests import world

pytestmark = pytest.mark.django_db


@pytest.fixture
def vanished(frozen, platform, coins, customer_a):
    coin = world.stock(coins, 1)
    world.buy(customer_a, coin, "CO-1")
    Holding.objects.filter(item=coin).update(customer=None)
    return coin


def test_a_finding_opens_an_integrity_case_with_its_evidence(vanished, customer_a):
    # when
    counts = reconcile.run()

    # then
    assert counts[AnomalyKind.VANISHED_HOLDING] == reconcile.Counts(found=1, new=1)
    anomaly = Anomaly.objects.get()
    case = anomaly.case
    assert (case.kind, case.team, case.customer) == (
        "integrity", "technician", customer_a,
    )  # fmt: skip
    created = case.events.get(type=CaseEvent.Type.CREATED)
    assert created.data["item_id"] == vanished.pk
    assert not created.is_public
    correction = anomaly.corrections.get()
    assert (correction.kind, correction.status) == ("restore_holding", "proposed")
    assert correction.amount_minor == world.PRICE_MINOR


def test_a_rerun_updates_last_seen_and_never_duplicates(vanished, frozen):
    reconcile.run()
    frozen.shift(timedelta(hours=2))

    counts = reconcile.run()

    assert counts[AnomalyKind.VANISHED_HOLDING] == reconcile.Counts(found=1, new=0)
    anomaly = Anomaly.objects.get()
    assert anomaly.last_seen_at - anomaly.first_seen_at == timedelta(hours=2)
    assert (Case.objects.count(), Correction.objects.count()) == (1, 1)


def test_the_worker_job_runs_once_per_interval(vanished, frozen, settings):
    settings.RECONCILE_INTERVAL_MINUTES = 30

    assert reconcile.run_if_due() == 1
    assert reconcile.run_if_due() == 0  # not due again yet
    frozen.shift(timedelta(minutes=31))
    assert reconcile.run_if_due() == 0  # due, but nothing new
    assert Anomaly.objects.get().last_seen_at == reconcile.clock.now()


def test_the_command_prints_counts_per_kind_and_reads_a_settlement(vanished, tmp_path):
    report = tmp_path / "settlement.csv"
    report.write_text(
        "provider_payment_id,type,amount,currency,date\n"
        "pi_ghost,payment,5.00,EUR,2026-03-02\n"
    )
    out = StringIO()

    call_command("reconcile", "--settlement", str(report), stdout=out)

    assert "vanished_holding: 1 found, 1 new" in out.getvalue()
    # pi_ghost is unknown to us; our capture pi_CO-1 is missing from the file.
    assert "settlement_mismatch: 2 found, 2 new" in out.getvalue()
    assert Anomaly.objects.count() == 3
