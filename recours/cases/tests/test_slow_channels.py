"""A hung SMS gateway must not hold the deadlines (issue 11, "Slow channels").

A real gateway that never answers in time, a batch of SMS waiting for it, a
case whose deadline has passed, and a real `recours worker` process: the
deadline is applied within its job's period, while the SMS are still timing
out one after the other. The old worker ran its jobs one after another, so the
deadline waited for every SMS's timeout (here 5 x 3 s).
"""

import signal
import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from recours.cases.models import Case
from recours.notifications.models import OutboxMessage
from recours.testing import file_case
from recours.testing.servers import GatewayHandler, SmsGateway, free_port, queue
from recours.testing.workers import start_worker, wait_for, worker_env

SMS_COUNT = 5
SMS_TIMEOUT_SECONDS = 3
# What "within its job's period" allows: the worker's idle pause (0.1 s) and a
# pass of the deadlines job, with room for a slow CI machine.
DEADLINE_LAG_SECONDS_MAX = 2.5


@pytest.fixture
def hung_gateway():
    server = SmsGateway(("127.0.0.1", 0), GatewayHandler)
    server.requests = []
    server.delay_seconds = SMS_TIMEOUT_SECONDS * 10
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.slow
def test_it_applies_a_deadline_while_the_sms_gateway_hangs(
    transactional_db, platform, customer_a, hung_gateway, tmp_path
):
    # given: SMS waiting for a gateway that hangs, and a case past its deadline
    for number in range(SMS_COUNT):
        queue(f"case:RC-HUNG-{number}:ack", channel="sms", recipient="+33612345678")
    case = file_case()
    Case.objects.filter(pk=case.pk).update(due_at=timezone.now() - timedelta(minutes=1))
    log_path = tmp_path / "worker.log"
    env = worker_env(
        free_port(),
        tmp_path / "var",
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        SMS_BACKEND="http",
        SMS_HTTP_URL=f"http://127.0.0.1:{hung_gateway.server_address[1]}/sms",
        SMS_HTTP_TIMEOUT_SECONDS=str(SMS_TIMEOUT_SECONDS),
    )

    # when: the worker starts, and its first SMS hangs
    worker = start_worker(env, log_path)
    try:
        wait_for(lambda: len(hung_gateway.requests) >= 1, 60, "an SMS", log_path)
        hung_at = time.monotonic()

        # then: the deadline is applied at once, the SMS still hanging
        wait_for(
            lambda: Case.objects.get(pk=case.pk).priority == "urgent",
            DEADLINE_LAG_SECONDS_MAX,
            "the deadline while the gateway hangs",
            log_path,
        )
        assert time.monotonic() - hung_at < SMS_TIMEOUT_SECONDS
        still_waiting = OutboxMessage.objects.filter(
            channel="sms", status=OutboxMessage.Status.PENDING, attempts=0
        )
        assert still_waiting.count() >= SMS_COUNT - 1

        # when: the worker is asked to stop
        worker.send_signal(signal.SIGTERM)

        # then: it stops after the SMS in hand, not after the whole batch
        assert worker.wait(timeout=SMS_TIMEOUT_SECONDS + 5) == 0
        log = log_path.read_text()
        assert "worker stopping" in log
        assert "database is locked" not in log
        assert f"deadline of case {case.reference} applied: escalate" in log
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=10)
