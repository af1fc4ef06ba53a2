"""A WatchQueue subscriber in Python (grpcio), as other teams write them.

Generates stubs from proto/ with grpcio-tools, then against a running server:
a customer signs up (AuthService.Register) and watches with their access token;
takes a snapshot, receives live events (and never another customer's), disconnects,
resumes after the last sequence it saw and receives exactly the missed events, then
live ones again. Fixtures are written with an internal service's token.

Usage: SUPPORT_TOKEN=<service token> python3 tests/python/watch_client.py HOST:PORT
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checks  # noqa: E402
from checks import Stream, check  # noqa: E402
from support_stubs import bearer  # noqa: E402

import grpc  # noqa: E402
from support.v1 import auth_service_pb2 as auth  # noqa: E402
from support.v1 import auth_service_pb2_grpc as auth_grpc  # noqa: E402
from support.v1 import common_pb2  # noqa: E402
from support.v1 import customer_service_pb2 as cs  # noqa: E402
from support.v1 import customer_service_pb2_grpc as cs_grpc  # noqa: E402
from support.v1 import department_service_pb2 as ds  # noqa: E402
from support.v1 import department_service_pb2_grpc as ds_grpc  # noqa: E402
from support.v1 import ticket_service_pb2 as ts  # noqa: E402
from support.v1 import ticket_service_pb2_grpc as ts_grpc  # noqa: E402


def main(target):
    service = os.environ["SUPPORT_TOKEN"]
    channel = grpc.insecure_channel(target)
    grpc.channel_ready_future(channel).result(timeout=30)
    departments = ds_grpc.DepartmentServiceStub(channel)
    customers = cs_grpc.CustomerServiceStub(channel)
    tickets = ts_grpc.TicketServiceStub(channel)
    accounts = auth_grpc.AuthServiceStub(channel)

    # 0. Without a token nothing but sign-up and sign-in answers.
    try:
        tickets.WatchQueue(ts.WatchQueueRequest()).next()
        check(False, "an anonymous subscriber is refused")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.UNAUTHENTICATED, f"UNAUTHENTICATED, got {e.code()}")

    dept = departments.CreateDepartment(
        ds.CreateDepartmentRequest(
            department=common_pb2.Department(name="Python", conversation_mode=common_pb2.CONVERSATION_MODE_CHAT)
        ),
        metadata=bearer(service),
    ).department
    signed_up = accounts.Register(
        auth.RegisterRequest(first_name="Guido", last_name="Py", email="guido@example.com", password="a decent passphrase")
    )
    customer_token = signed_up.tokens.access_token

    def watch(request):
        """The customer's WatchQueue stream."""
        return Stream(tickets.WatchQueue(request, metadata=bearer(customer_token)))

    other = customers.CreateCustomer(
        cs.CreateCustomerRequest(
            customer=common_pb2.Customer(first_name="Other", last_name="Person", email="other@example.com")
        ),
        metadata=bearer(service),
    ).customer
    tier = cs.UpdateCustomerRequest(customer=common_pb2.Customer(id=signed_up.customer_id, tier=common_pb2.CUSTOMER_TIER_PAID))
    tier.update_mask.paths.append("tier")
    customers.UpdateCustomer(tier, metadata=bearer(service))

    def open_ticket(subject, severity=common_pb2.SEVERITY_MAJOR, customer_id=signed_up.customer_id):
        return tickets.CreateTicket(
            ts.CreateTicketRequest(
                customer_id=customer_id,
                department_id=dept.id,
                category=common_pb2.TICKET_CATEGORY_OTHER,
                subject=subject,
                description="from the Python client",
                severity=severity,
                impact=3,
            ),
            metadata=bearer(service),
        ).ticket

    open_ticket("someone else's, before", customer_id=other.id)
    first = open_ticket("before the snapshot")

    # 1. Fresh start as the customer: their snapshot, its end marker, then live events.
    sub = watch(ts.WatchQueueRequest(department_id=dept.id))
    kind, item = sub.next()
    check(kind == "snapshot_ticket" and item.id == first.id, "the snapshot holds the existing ticket")
    kind, end = sub.next()
    check(kind == "snapshot_end", "the snapshot ends with a marker (and holds no other customer's ticket)")
    open_ticket("someone else's, live", customer_id=other.id)
    live = open_ticket("live")
    kind, event = sub.next()
    check(kind == "event" and event.ticket.id == live.id, "a live event arrives, never another customer's")
    check(event.kind == ts.QUEUE_EVENT_KIND_TICKET_CREATED, "it is TICKET_CREATED")
    check(event.sequence > end.sequence + 1, "its sequence follows the snapshot's and the skipped event's")
    check(event.ticket.priority.score == 3 + 3 + 3, "it carries the full ticket with its priority")
    last = event.sequence

    # 2. Disconnect, miss two changes, resume: exactly those, then live again.
    sub.close()
    missed_a = open_ticket("missed a", common_pb2.SEVERITY_CRITICAL)
    missed_b = open_ticket("missed b", common_pb2.SEVERITY_MINOR)
    sub = watch(ts.WatchQueueRequest(department_id=dept.id, resume_after=last))
    _, e1 = sub.next()
    _, e2 = sub.next()
    check([e1.ticket.id, e2.ticket.id] == [missed_a.id, missed_b.id], "the resumed stream replays the missed events")
    check([e1.sequence, e2.sequence] == [last + 1, last + 2], "with consecutive sequences")
    after = open_ticket("after the resume")
    _, e3 = sub.next()
    check(e3.ticket.id == after.id and e3.sequence == last + 3, "then live events again")
    kind, beat = sub.next("heartbeat")
    check(kind == "heartbeat" and beat.sequence == e3.sequence, "heartbeats carry the latest sequence")
    sub.close()

    # 3. A resume point older than the history is OUT_OF_RANGE; ahead of it too.
    sub = watch(ts.WatchQueueRequest(resume_after=10_000_000))
    try:
        sub.next()
        check(False, "resuming ahead of the log fails")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.OUT_OF_RANGE, f"OUT_OF_RANGE, got {e.code()}")

    print(f"{checks.passed} passed, 0 failed")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "localhost:50051")
