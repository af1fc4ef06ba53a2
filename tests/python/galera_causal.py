"""Read-your-writes across Galera nodes (scripts/test-galera.sh, scripts/bench-galera.sh).

Usage: SUPPORT_TOKEN=<service token> galera_causal.py ROUNDS THREADS ADDR_A ADDR_B ADDR_C

THREADS callers each do ROUNDS rounds of: CreateTicket through replica A, at once GetTicket
through replica B (the ticket must be there), UpdateTicket with that etag through B, at once
GetTicket through C (it must carry the update's etag). Replicas A, B and C sit on different
nodes, so each read asks a node that did not take the write. Counts the reads that missed
(NOT_FOUND, or an older etag) and the update refused for a stale etag it had just read.
Prints one JSON line; exits non-zero when --expect-none is given and any read missed.
"""

import json
import os
import statistics
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support_stubs import bearer  # noqa: E402

import grpc  # noqa: E402
from google.protobuf import field_mask_pb2  # noqa: E402
from support.v1 import common_pb2 as common  # noqa: E402
from support.v1 import customer_service_pb2 as cs  # noqa: E402
from support.v1 import customer_service_pb2_grpc as cs_grpc  # noqa: E402
from support.v1 import department_service_pb2 as ds  # noqa: E402
from support.v1 import department_service_pb2_grpc as ds_grpc  # noqa: E402
from support.v1 import ticket_service_pb2 as ts  # noqa: E402
from support.v1 import ticket_service_pb2_grpc as ts_grpc  # noqa: E402

args = [a for a in sys.argv[1:] if not a.startswith("--")]
EXPECT_NONE = "--expect-none" in sys.argv
ROUNDS, THREADS, ADDRS = int(args[0]), int(args[1]), args[2:5]
AUTH = bearer(os.environ["SUPPORT_TOKEN"])
A, B, C = (ts_grpc.TicketServiceStub(grpc.insecure_channel(a)) for a in ADDRS)
lock = threading.Lock()
counts = {"reads": 0, "missed_create": 0, "missed_update": 0, "stale_etag_refused": 0}
read_ms = []


def read(stub, tid):
    started = time.perf_counter()
    try:
        ticket = stub.GetTicket(ts.GetTicketRequest(id=tid), metadata=AUTH, timeout=10).ticket
    except grpc.RpcError as e:
        if e.code() != grpc.StatusCode.NOT_FOUND:
            raise
        ticket = None
    with lock:
        read_ms.append((time.perf_counter() - started) * 1000)
        counts["reads"] += 1
    return ticket


def caller(w, customer, department):
    for i in range(ROUNDS):
        created = A.CreateTicket(ts.CreateTicketRequest(
            customer_id=customer, department_id=department, category=common.TICKET_CATEGORY_OTHER,
            subject=f"causal {w}.{i}", description="Read through another node.", severity=common.SEVERITY_MINOR,
            impact=1, request_id=uuid.uuid4().hex), metadata=AUTH, timeout=10).ticket
        seen = read(B, created.id)
        if seen is None:
            with lock:
                counts["missed_create"] += 1
            continue
        changed = common.Ticket(id=seen.id, subject=f"causal {w}.{i} (edited)", etag=seen.etag)
        try:
            updated = B.UpdateTicket(ts.UpdateTicketRequest(
                ticket=changed, update_mask=field_mask_pb2.FieldMask(paths=["subject"])), metadata=AUTH, timeout=10).ticket
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.ABORTED:
                raise
            with lock:
                counts["stale_etag_refused"] += 1
            continue
        again = read(C, created.id)
        if again is None or again.etag != updated.etag:
            with lock:
                counts["missed_update"] += 1


def main():
    d = ds_grpc.DepartmentServiceStub(grpc.insecure_channel(ADDRS[0])).CreateDepartment(
        ds.CreateDepartmentRequest(department=common.Department(name=f"Causal {uuid.uuid4().hex[:8]}", conversation_mode=common.CONVERSATION_MODE_TICKET)), metadata=AUTH).department
    c = cs_grpc.CustomerServiceStub(grpc.insecure_channel(ADDRS[0])).CreateCustomer(
        cs.CreateCustomerRequest(customer=common.Customer(first_name="Ada", last_name="C", email=f"{uuid.uuid4().hex[:12]}@example.com", tier=common.CUSTOMER_TIER_PAID)),
        metadata=AUTH).customer
    # The department and customer were written through A: wait until B and C have them.
    time.sleep(0.5)
    threads = [threading.Thread(target=caller, args=(w, c.id, d.id)) for w in range(THREADS)]
    started = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.time() - started
    read_ms.sort()
    missed = counts["missed_create"] + counts["missed_update"] + counts["stale_etag_refused"]
    print(json.dumps({**counts, "rounds": ROUNDS * THREADS, "seconds": round(took, 2),
                      "read_ms_p50": round(statistics.median(read_ms), 2),
                      "read_ms_p99": round(read_ms[int(len(read_ms) * 0.99) - 1], 2), "missed": missed}))
    if EXPECT_NONE and missed:
        print(f"{missed} reads through another node missed a write acknowledged before them", file=sys.stderr)
        sys.exit(1)


main()
