"""Webhooks end to end, checked independently of the service's code (scripts/webhooks-test.sh).

Usage: SUPPORT_BIN=... DATABASE_URL=... MYSQL_DB=... python3 webhook_check.py

Starts two replicas on one MariaDB database and a receiver on loopback that fails the
first 3 attempts (500), then sleeps past the service's timeout once, then answers 200
after a short pause (so a backlog builds). Writes changes through both replicas; kills
(-9) and restarts each replica in turn while a backlog is being delivered. Then every
event of the log after the subscription's start must have arrived with a 2xx answer, in
order (a crash may resend the event in flight, never skip or reorder), and every request
must carry a valid Standard Webhooks signature, verified here with Python's own hmac.
Prints one JSON line of figures; exits non-zero on any violation.
"""

import base64
import hashlib
import hmac
import http.server
import json
import os
import socket
import subprocess
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
from support.v1 import ticket_service_pb2 as ts  # noqa: E402
from support.v1 import ticket_service_pb2_grpc as ts_grpc  # noqa: E402
from support.v1 import webhook_service_pb2 as ws  # noqa: E402
from support.v1 import webhook_service_pb2_grpc as ws_grpc  # noqa: E402

BIN = os.environ["SUPPORT_BIN"]


def free_ports(n):
    """Ports nothing listens on (fixed ones may be taken as an outgoing connection's own)."""
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


# Kept for the whole run: a killed replica restarts on its own port.
PORTS = free_ports(2)
TIMEOUT_MS = 500
CHANGES_PER_PHASE = 60


def fail(what):
    print(f"webhook check failed: {what}", file=sys.stderr)
    sys.exit(1)


class Receiver(http.server.BaseHTTPRequestHandler):
    """Answers by the plan: 3 failures, one answer too late, then 200 after a pause."""

    lock = threading.Lock()
    requests = 0
    accepted = []  # (webhook-id, timestamp, signature, body) of 2xx answers, in arrival order
    unsigned = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        with Receiver.lock:
            Receiver.requests += 1
            n = Receiver.requests
        headers = (self.headers.get("webhook-id"), self.headers.get("webhook-timestamp"), self.headers.get("webhook-signature"))
        if n <= 3:
            self.send_response(500)
            self.end_headers()
            return
        if n == 4:
            time.sleep(TIMEOUT_MS / 1000 * 3)
        else:
            time.sleep(0.02)
        try:
            self.send_response(200)
            self.end_headers()
        except OSError:
            return  # the service gave up waiting: not delivered
        if n > 4:
            with Receiver.lock:
                Receiver.accepted.append(headers + (body,))


def verify(secret, msg_id, timestamp, signature, body):
    key = base64.b64decode(secret[len("whsec_"):])
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()).decode()
    return any(part == f"v1,{expected}" for part in signature.split(" "))


def replica(n):
    env = dict(os.environ, SUPPORT_LISTEN=f"127.0.0.1:{PORTS[n]}", SUPPORT_ADMIN_LISTEN="off",
               SUPPORT_WEBHOOK_ALLOW="127.0.0.1", SUPPORT_WEBHOOK_TIMEOUT_MS=str(TIMEOUT_MS),
               SUPPORT_WEBHOOK_BACKOFF_MS="100", SUPPORT_WEBHOOK_MAX_BACKOFF_MS="400",
               SUPPORT_SEQUENCER_LEASE_MS="1000", SUPPORT_RATE_LIMIT_PER_SECOND="0", RUST_LOG="warn")
    log = open(os.path.join(os.environ["WORK"], f"replica{n}.log"), "ab")
    proc = subprocess.Popen([BIN], env=env, stdout=log, stderr=log)
    with open(os.path.join(os.environ["WORK"], f"replica{n}.pid"), "w") as f:
        f.write(str(proc.pid))
    channel = grpc.insecure_channel(f"127.0.0.1:{PORTS[n]}")
    grpc.channel_ready_future(channel).result(timeout=60)
    for _ in range(300):
        try:
            ds_grpc.DepartmentServiceStub(channel).ListDepartments(ds.ListDepartmentsRequest(), metadata=bearer(TOKEN), timeout=2)
            break
        except grpc.RpcError:
            time.sleep(0.1)
    return proc, channel


def sql(query):
    out = subprocess.run(["mariadb", "-usupport", "-psupport", "-h127.0.0.1", "-N", os.environ["MYSQL_DB"], "-e", query],
                         check=True, capture_output=True, text=True).stdout.split()
    return [int(x) if x != "NULL" else 0 for x in out]


def write(channels, customer, department, n):
    for i in range(n):
        stub = ts_grpc.TicketServiceStub(channels[i % len(channels)])
        for attempt in range(50):
            try:
                stub.CreateTicket(ts.CreateTicketRequest(
                    customer_id=customer, department_id=department, category=common.TICKET_CATEGORY_OTHER,
                    subject=f"Webhook check {i}", description="Testing delivery.", severity=common.SEVERITY_MINOR,
                    impact=1, request_id=f"wh-{department}-{i}-{uuid.uuid4().hex[:6]}"), metadata=bearer(TOKEN), timeout=5)
                break
            except grpc.RpcError:
                stub = ts_grpc.TicketServiceStub(channels[(i + attempt + 1) % len(channels)])
                time.sleep(0.1)


def await_backlog(fraction, total):
    for _ in range(600):
        with Receiver.lock:
            if len(Receiver.accepted) >= fraction * total:
                return
        time.sleep(0.02)


TOKEN = os.environ["SUPPORT_TOKEN"]


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    procs, channels = zip(*[replica(0), replica(1)])
    procs, channels = list(procs), list(channels)
    department = ds_grpc.DepartmentServiceStub(channels[0]).CreateDepartment(ds.CreateDepartmentRequest(
        department=common.Department(name="Webhooks", conversation_mode=common.CONVERSATION_MODE_CHAT)),
        metadata=bearer(TOKEN)).department.id
    customer = cs_grpc.CustomerServiceStub(channels[0]).CreateCustomer(cs.CreateCustomerRequest(
        customer=common.Customer(first_name="Ada", last_name="Lovelace", email="ada@webhooks.example",
                                 tier=common.CUSTOMER_TIER_FREE)), metadata=bearer(TOKEN)).customer.id
    created = ws_grpc.WebhookServiceStub(channels[0]).CreateWebhook(ws.CreateWebhookRequest(
        webhook=ws.Webhook(url=url, active=True)), metadata=bearer(TOKEN))
    secret, webhook_id, start = created.secret, created.webhook.id, created.webhook.cursor
    restarts = 0
    for phase, victim in enumerate([0, 1]):
        write(channels, customer, department, CHANGES_PER_PHASE)
        # Mid-backlog: kill a replica (-9) and start it again.
        await_backlog(0.3 + phase * 0.5, CHANGES_PER_PHASE * 2)
        procs[victim].kill()
        procs[victim].wait()
        procs[victim], channels[victim] = replica(victim)
        restarts += 1
    # Every event numbered, then delivered.
    latest = 0
    for _ in range(600):
        count, latest, unnumbered = sql("SELECT COUNT(*), MAX(sequence), SUM(sequence IS NULL) FROM queue_events")
        if unnumbered == 0:
            break
        time.sleep(0.05)
    expected = list(range(start + 1, latest + 1))
    for _ in range(1200):
        with Receiver.lock:
            seen = {int(a[0][len("evt_"):]) for a in Receiver.accepted}
        if set(expected) <= seen:
            break
        time.sleep(0.05)
    with Receiver.lock:
        accepted = list(Receiver.accepted)
    arrived = [int(a[0][len("evt_"):]) for a in accepted]
    missing = sorted(set(expected) - set(arrived))
    if missing:
        fail(f"{len(missing)} events never arrived, first {missing[:10]}")
    if any(b < a for a, b in zip(arrived, arrived[1:])):
        fail(f"out of order: {arrived}")
    if set(arrived) != set(expected):
        fail(f"unexpected events: {sorted(set(arrived) - set(expected))[:10]}")
    for msg_id, timestamp, signature, body in accepted:
        if not verify(secret, msg_id, timestamp, signature, body):
            fail(f"the signature of {msg_id} does not verify")
        event = json.loads(body)
        if f"evt_{event['sequence']}" != msg_id:
            fail(f"{msg_id} carries event {event['sequence']}")
        if abs(int(timestamp) - time.time()) > 300:
            fail(f"{msg_id} has a stale timestamp {timestamp}")
    deliveries = ws_grpc.WebhookServiceStub(channels[0]).ListWebhookDeliveries(
        ws.ListWebhookDeliveriesRequest(webhook_id=webhook_id, page_size=500), metadata=bearer(TOKEN)).deliveries
    first = [d for d in deliveries if d.sequence == start + 1 and not d.manual]
    if not first or first[0].attempts < 5 or first[0].state != ws.DELIVERY_STATE_SUCCEEDED:
        fail(f"the first event's delivery: {first}")
    for p in procs:
        p.terminate()
        p.wait(timeout=30)
    print(json.dumps({"events": len(expected), "requests": Receiver.requests, "accepted": len(accepted),
                      "duplicates": len(accepted) - len(set(arrived)), "restarts": restarts,
                      "first_event_attempts": first[0].attempts}))


if __name__ == "__main__":
    main()
