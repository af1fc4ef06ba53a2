"""Holds one WatchQueue stream open on each replica until killed (scripts/measure-scaling.sh).

Usage: SUPPORT_TOKEN=<service token> hold_streams.py ADDR [ADDR ...]
Prints `holding N` once every stream has its snapshot.
"""

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support_stubs import bearer  # noqa: E402

import grpc  # noqa: E402
from support.v1 import ticket_service_pb2 as ts  # noqa: E402
from support.v1 import ticket_service_pb2_grpc as ts_grpc  # noqa: E402

AUTH = bearer(os.environ["SUPPORT_TOKEN"])
ready = threading.Semaphore(0)


def hold(addr):
    stub = ts_grpc.TicketServiceStub(grpc.insecure_channel(addr))
    for item in stub.WatchQueue(ts.WatchQueueRequest(), metadata=AUTH):
        if item.WhichOneof("item") == "snapshot_end":
            ready.release()


for a in sys.argv[1:]:
    threading.Thread(target=hold, args=(a,), daemon=True).start()
for _ in sys.argv[1:]:
    if not ready.acquire(timeout=120):
        sys.exit("a stream got no snapshot in 120 s")
print(f"holding {len(sys.argv) - 1}", flush=True)
threading.Event().wait()
