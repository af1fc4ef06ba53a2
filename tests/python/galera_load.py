"""Writers and subscribers across service replicas on a Galera cluster (scripts/test-galera.sh).

Usage: SUPPORT_TOKEN=<service token> galera_load.py CHANGES WRITERS ADDR [ADDR ...]

A subscriber per replica holds WatchQueue open from the start; WRITERS threads make CHANGES
changes (a ticket, then replies on it), each through its own replica and, when that
replica does not answer, through the next one, retrying with the same request_id, so no
acknowledged write is lost and none is written twice. Then every subscriber must have
seen every event exactly once, in order, with no gap (reconnecting with resume_after when
its stream breaks), and its view of the tickets must equal the database's (GetTicket).
Prints one JSON line of figures; exits non-zero on any violation.
"""

import json
import os
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support_stubs import bearer  # noqa: E402

import grpc  # noqa: E402
from support.v1 import common_pb2 as common  # noqa: E402
from support.v1 import customer_service_pb2 as cs  # noqa: E402
from support.v1 import customer_service_pb2_grpc as cs_grpc  # noqa: E402
from support.v1 import department_service_pb2 as ds  # noqa: E402
from support.v1 import department_service_pb2_grpc as ds_grpc  # noqa: E402
from support.v1 import log_service_pb2 as ls  # noqa: E402
from support.v1 import log_service_pb2_grpc as ls_grpc  # noqa: E402
from support.v1 import ticket_service_pb2 as ts  # noqa: E402
from support.v1 import ticket_service_pb2_grpc as ts_grpc  # noqa: E402

CHANGES, WRITERS, ADDRS = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
TOKEN = os.environ["SUPPORT_TOKEN"]
AUTH = bearer(TOKEN)
CHANNELS = [grpc.insecure_channel(a) for a in ADDRS]
RETRYABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.ABORTED}
stats = {"retries": 0, "aborted": 0, "failovers": 0, "reconnects": 0}
lock = threading.Lock()


class Route:
    """A writer's replica: kept while it answers, the next one once it does not."""

    def __init__(self, replica):
        self.replica = replica

    def call(self, make, request):
        """Calls until a replica answers (the same request, so a retried write lands once)."""
        for attempt in range(200):
            stub = make(CHANNELS[self.replica % len(CHANNELS)])
            try:
                return stub(request, metadata=AUTH, timeout=5)
            except grpc.RpcError as e:
                if e.code() not in RETRYABLE:
                    raise
                with lock:
                    stats["retries"] += 1
                    stats["aborted"] += e.code() == grpc.StatusCode.ABORTED
                if e.code() != grpc.StatusCode.ABORTED:
                    self.replica += 1
                    with lock:
                        stats["failovers"] += 1
                time.sleep(min(0.05 * (attempt + 1), 1.0))
        raise SystemExit("a write found no replica to take it in 200 attempts")


class Subscriber:
    """Watches the queue through one replica, resuming (there or at the next one) on a break."""

    def __init__(self, index):
        self.index, self.last, self.view, self.seen = index, 0, {}, 0
        self.errors, self.done = [], threading.Event()
        self.snapshot_done = threading.Event()
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        replica = self.index
        while not self.done.is_set():
            stub = ts_grpc.TicketServiceStub(CHANNELS[replica % len(CHANNELS)])
            request = ts.WatchQueueRequest(include_messages=True, resume_after=self.last)
            stream = stub.WatchQueue(request, metadata=AUTH, timeout=None)
            self.heard = time.time()
            threading.Thread(target=self.watchdog, args=(stream,), daemon=True).start()
            try:
                for item in stream:
                    self.heard = time.time()
                    self.take(item)
                    if self.done.is_set():
                        return
            except grpc.RpcError:
                pass
            with lock:
                stats["reconnects"] += 1
            replica += 1
            time.sleep(0.2)

    def watchdog(self, stream):
        """Heartbeats come every 5 s: a stream quiet for 12 s is stalled (its replica's
        database died under it); cancel it, so the subscriber resumes elsewhere."""
        while stream.is_active() and not self.done.is_set():
            if time.time() - self.heard > 12:
                stream.cancel()
                return
            time.sleep(0.5)

    def take(self, item):
        which = item.WhichOneof("item")
        if which == "snapshot_ticket":
            self.view[item.snapshot_ticket.id] = item.snapshot_ticket
        elif which == "snapshot_end":
            self.last = item.snapshot_end.sequence
            self.snapshot_done.set()
        elif which == "event":
            e = item.event
            if e.sequence != self.last + 1:
                self.errors.append(f"subscriber {self.index}: event {e.sequence} after {self.last}")
            self.last = e.sequence
            self.seen += 1
            if e.removed:
                self.view.pop(e.ticket.id, None)
            else:
                self.view[e.ticket.id] = e.ticket


def main():
    departments = ds_grpc.DepartmentServiceStub(CHANNELS[0])
    d = departments.CreateDepartment(
        ds.CreateDepartmentRequest(department=common.Department(name=f"Galera {uuid.uuid4().hex[:8]}", conversation_mode=common.CONVERSATION_MODE_CHAT)),
        metadata=AUTH,
    ).department
    c = cs_grpc.CustomerServiceStub(CHANNELS[0]).CreateCustomer(
        cs.CreateCustomerRequest(customer=common.Customer(first_name="Ada", last_name="L", email=f"{uuid.uuid4().hex[:12]}@example.com", tier=common.CUSTOMER_TIER_PAID)),
        metadata=AUTH,
    ).customer
    subscribers = [Subscriber(i) for i in range(len(CHANNELS))]
    for s in subscribers:
        if not s.snapshot_done.wait(30):
            raise SystemExit(f"subscriber {s.index} got no snapshot")

    per_writer = CHANGES // WRITERS
    tickets, started = [], time.time()

    def writer(w):
        route = Route(w % len(CHANNELS))
        t = route.call(lambda ch: ts_grpc.TicketServiceStub(ch).CreateTicket, ts.CreateTicketRequest(
            customer_id=c.id, department_id=d.id, category=common.TICKET_CATEGORY_OTHER, subject=f"writer {w}",
            description="Galera load.", severity=common.SEVERITY_MINOR, impact=1, request_id=uuid.uuid4().hex)).ticket
        with lock:
            tickets.append(t.id)
        for i in range(per_writer - 1):
            route.call(lambda ch: ls_grpc.LogServiceStub(ch).AddLog, ls.AddLogRequest(
                ticket_id=t.id, sender_kind=common.SENDER_KIND_CUSTOMER, sender_id=c.id, body=f"message {i}",
                request_id=uuid.uuid4().hex))

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.time() - started
    # Every write is acknowledged: once numbered, a fresh snapshot ends at or after the last
    # of their events. Every subscriber must reach that sequence.
    written = per_writer * WRITERS
    time.sleep(0.5)
    target = 0
    for replica in range(len(CHANNELS)):
        try:
            stream = ts_grpc.TicketServiceStub(CHANNELS[replica]).WatchQueue(ts.WatchQueueRequest(), metadata=AUTH, timeout=30)
            for item in stream:
                if item.WhichOneof("item") == "snapshot_end":
                    target = item.snapshot_end.sequence
                    stream.cancel()
                    break
            break
        except grpc.RpcError:
            continue
    deadline = time.time() + 60
    while time.time() < deadline and min(s.last for s in subscribers) < target:
        time.sleep(0.2)
    for s in subscribers:
        s.done.set()
    problems = [e for s in subscribers for e in s.errors]
    for s in subscribers:
        if s.last < target or s.seen < written:
            problems.append(f"subscriber {s.index} reached event {s.last} of {target} ({s.seen} seen, {written} writes)")
    for tid in tickets:
        db = Route(0).call(lambda ch: ts_grpc.TicketServiceStub(ch).GetTicket, ts.GetTicketRequest(id=tid)).ticket
        for s in subscribers:
            if s.view.get(tid) is None or s.view[tid].etag != db.etag:
                problems.append(f"subscriber {s.index}'s ticket {tid} differs from the database")
    # No acknowledged write lost, none written twice: each ticket has its writer's replies.
    for tid in tickets:
        count, token = 0, ""
        while True:
            page = Route(0).call(lambda ch: ls_grpc.LogServiceStub(ch).ListLogs,
                                 ls.ListLogsRequest(ticket_id=tid, page_size=200, page_token=token))
            count += sum(1 for log in page.logs if log.sender_kind == common.SENDER_KIND_CUSTOMER)
            token = page.next_page_token
            if not token:
                break
        if count != per_writer - 1:
            problems.append(f"ticket {tid} has {count} replies; its writer acknowledged {per_writer - 1}")
    print(json.dumps({"changes": written, "seconds": round(took, 2), "per_second": round(written / took, 1),
                      "last_sequence": target, "events_seen": [s.seen for s in subscribers], **stats}))
    if stats["aborted"]:
        problems.append(f"callers saw ABORTED {stats['aborted']} times for conflicts they did not cause")
    if problems:
        print("\n".join(problems[:20]), file=sys.stderr)
        sys.exit(1)


main()
