"""Customer email end to end, into a real SMTP sink (aiosmtpd): scripts/mail-test.sh.

Usage: SUPPORT_BIN=... DATABASE_URL=... WORK=... python3 mail_check.py

Starts the service with SUPPORT_SMTP_HOST pointing at a local aiosmtpd sink. Ann gets
mail; Bob opted out. Ann's ticket gets an agent's public reply, an internal note, a burst
of 20 replies during which the server is killed (-9) and started again, a call from the
agent that rings out unanswered, and a resolution; Bob's gets a reply, such a call and a
resolution. The sink must then hold exactly Ann's 23 mails (by
Message-ID: a crash may resend the mail in flight under the same id, never skip one), none
to Bob, none with the internal note, each with a text and an HTML part carrying the
ticket's subject and its link in the console. Prints one JSON line; exits non-zero on any
violation.
"""

import email
import html
import email.policy
import json
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support_stubs import bearer  # noqa: E402

import grpc  # noqa: E402
from aiosmtpd.controller import Controller  # noqa: E402
from google.protobuf import field_mask_pb2  # noqa: E402
from support.v1 import common_pb2 as common  # noqa: E402
from support.v1 import agent_service_pb2 as ag  # noqa: E402
from support.v1 import agent_service_pb2_grpc as ag_grpc  # noqa: E402
from support.v1 import auth_service_pb2 as auth  # noqa: E402
from support.v1 import auth_service_pb2_grpc as auth_grpc  # noqa: E402
from support.v1 import call_service_pb2 as cls  # noqa: E402
from support.v1 import call_service_pb2_grpc as cls_grpc  # noqa: E402
from support.v1 import customer_service_pb2 as cs  # noqa: E402
from support.v1 import customer_service_pb2_grpc as cs_grpc  # noqa: E402
from support.v1 import department_service_pb2 as ds  # noqa: E402
from support.v1 import department_service_pb2_grpc as ds_grpc  # noqa: E402
from support.v1 import log_service_pb2 as ls  # noqa: E402
from support.v1 import log_service_pb2_grpc as ls_grpc  # noqa: E402
from support.v1 import ticket_service_pb2 as ts  # noqa: E402
from support.v1 import ticket_service_pb2_grpc as ts_grpc  # noqa: E402

PORT = 50081
PUBLIC = "http://console.example"
BURST = 20
PASSWORD = "a decent passphrase"


def fail(what):
    print(f"mail check failed: {what}", file=sys.stderr)
    sys.exit(1)


class Sink:
    def __init__(self):
        self.lock = threading.Lock()
        self.mails = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.mails.append((list(envelope.rcpt_tos), message))
        return "250 OK"


def start_server(smtp_port):
    env = dict(os.environ, SUPPORT_LISTEN=f"127.0.0.1:{PORT}", SUPPORT_ADMIN_LISTEN="off",
               SUPPORT_SMTP_HOST="127.0.0.1", SUPPORT_SMTP_PORT=str(smtp_port), SUPPORT_SMTP_TLS="none",
               SUPPORT_MAIL_FROM="Acme Support <support@acme.example>", SUPPORT_PUBLIC_URL=PUBLIC,
               SUPPORT_RATE_LIMIT_PER_SECOND="0", SUPPORT_CALL_RING_SECS="1", SUPPORT_CALL_SWEEP_MS="100",
               RUST_LOG="warn")
    log = open(os.path.join(os.environ["WORK"], "server.log"), "ab")
    proc = subprocess.Popen([os.environ["SUPPORT_BIN"]], env=env, stdout=log, stderr=log)
    with open(os.path.join(os.environ["WORK"], "server.pid"), "w") as f:
        f.write(str(proc.pid))
    channel = grpc.insecure_channel(f"127.0.0.1:{PORT}")
    grpc.channel_ready_future(channel).result(timeout=60)
    for _ in range(300):
        try:
            ds_grpc.DepartmentServiceStub(channel).ListDepartments(ds.ListDepartmentsRequest(), metadata=bearer(TOKEN), timeout=2)
            return proc, channel
        except grpc.RpcError:
            time.sleep(0.1)
    fail("the server did not start")


TOKEN = None


def main():
    global TOKEN
    sink = Sink()
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    smtp_port = probe.getsockname()[1]
    probe.close()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    TOKEN = subprocess.run([os.environ["SUPPORT_BIN"], "token", "--role", "service", "--subject", "mail-check"],
                           check=True, capture_output=True, text=True).stdout.strip()
    proc, channel = start_server(smtp_port)
    md = bearer(TOKEN)
    department = ds_grpc.DepartmentServiceStub(channel).CreateDepartment(ds.CreateDepartmentRequest(
        department=common.Department(name="Billing", conversation_mode=common.CONVERSATION_MODE_CHAT)), metadata=md).department.id
    agent = ag_grpc.AgentServiceStub(channel).CreateAgent(ag.CreateAgentRequest(agent=common.Agent(
        first_name="Grace", last_name="Hopper", email="grace@acme.example", department_id=department)), metadata=md).agent.id
    auth_grpc.AuthServiceStub(channel).SetAgentPassword(
        auth.SetAgentPasswordRequest(agent_id=agent, password=PASSWORD), metadata=md)
    customers = cs_grpc.CustomerServiceStub(channel)
    ann = customers.CreateCustomer(cs.CreateCustomerRequest(customer=common.Customer(
        first_name="Ann", last_name="Lee", email="ann@example.com", tier=common.CUSTOMER_TIER_FREE)), metadata=md).customer.id
    bob = customers.CreateCustomer(cs.CreateCustomerRequest(customer=common.Customer(
        first_name="Bob", last_name="Ray", email="bob@example.com", tier=common.CUSTOMER_TIER_FREE)), metadata=md).customer.id
    customers.UpdateCustomer(cs.UpdateCustomerRequest(customer=common.Customer(id=bob, email_opt_out=True),
                             update_mask=field_mask_pb2.FieldMask(paths=["email_opt_out"])), metadata=md)

    def ticket(customer, subject):
        return ts_grpc.TicketServiceStub(channel).CreateTicket(ts.CreateTicketRequest(
            customer_id=customer, department_id=department, category=common.TICKET_CATEGORY_OTHER, subject=subject,
            description="Please help.", severity=common.SEVERITY_MINOR, impact=1), metadata=md).ticket.id

    def say(ticket_id, sender_kind, sender_id, body, visibility=common.VISIBILITY_PUBLIC, retries=50):
        last = None
        for _ in range(retries):
            try:
                return ls_grpc.LogServiceStub(channel).AddLog(ls.AddLogRequest(
                    ticket_id=ticket_id, sender_kind=sender_kind, sender_id=sender_id, body=body, visibility=visibility,
                    request_id=f"{ticket_id}-{abs(hash(body))}"), metadata=md, timeout=5)
            except grpc.RpcError as e:
                last = e
                if e.code() != grpc.StatusCode.UNAVAILABLE:
                    break
                time.sleep(0.1)
        fail(f"could not add {body!r}: {last}")

    def ring_out(ticket_id):
        """Grace calls the ticket's customer, who does not answer: the call ends MISSED."""
        login = auth_grpc.AuthServiceStub(channel).Login(auth.LoginRequest(email="grace@acme.example", password=PASSWORD))
        as_grace = bearer(login.tokens.access_token)
        calls = cls_grpc.CallServiceStub(channel)
        call = calls.StartCall(cls.StartCallRequest(ticket_id=ticket_id), metadata=as_grace).call
        for _ in range(200):
            call = calls.GetCall(cls.GetCallRequest(call_id=call.id), metadata=as_grace).call
            if call.state == common.CALL_STATE_ENDED:
                break
            time.sleep(0.05)
        if call.outcome != common.CALL_OUTCOME_MISSED:
            fail(f"the unanswered call ended {call.state} / {call.outcome}")

    def resolve(ticket_id):
        ts_grpc.TicketServiceStub(channel).UpdateTicketStatus(ts.UpdateTicketStatusRequest(
            id=ticket_id, status=common.TICKET_STATUS_RESOLVED), metadata=md)

    anns = ticket(ann, "Charged twice")
    bobs = ticket(bob, "Lost parcel")
    say(anns, common.SENDER_KIND_AGENT, agent, "We are refunding the second charge.")
    say(anns, common.SENDER_KIND_AGENT, agent, "INTERNAL-SECRET: gateway duplicate", common.VISIBILITY_INTERNAL)
    say(anns, common.SENDER_KIND_CUSTOMER, ann, "Thanks!")
    say(bobs, common.SENDER_KIND_AGENT, agent, "We are looking for it.")
    for i in range(BURST):
        say(anns, common.SENDER_KIND_AGENT, agent, f"Update {i + 1} of {BURST}.")
        if i == BURST // 2:
            # Crash mid-burst, then start again on the same database.
            proc.kill()
            proc.wait()
            proc, channel = start_server(smtp_port)
    ring_out(anns)
    ring_out(bobs)
    resolve(anns)
    resolve(bobs)
    expected = BURST + 3
    for _ in range(600):
        with sink.lock:
            ids = {m["Message-ID"] for rcpt, m in sink.mails}
        if len(ids) >= expected:
            break
        time.sleep(0.05)
    time.sleep(1.5)  # anything more (a mail to Bob, a note) would arrive now
    with sink.lock:
        mails = list(sink.mails)
    ids = [m["Message-ID"] for rcpt, m in mails]
    if len(set(ids)) != expected:
        fail(f"{len(set(ids))} distinct mails, expected {expected}: {[m['Subject'] for _, m in mails]}")
    for rcpt, m in mails:
        if rcpt != ["ann@example.com"]:
            fail(f"a mail to {rcpt}: {m['Subject']}")
        parts = {p.get_content_type(): p.get_content() for p in m.walk() if not p.is_multipart()}
        if set(parts) != {"text/plain", "text/html"}:
            fail(f"{m['Subject']}: parts {set(parts)}")
        link = f"{PUBLIC}/#/ticket/{anns}"
        for kind, text in parts.items():
            text = html.unescape(text) if kind == "text/html" else text
            if "INTERNAL-SECRET" in text:
                fail("an internal note was mailed")
            if "Charged twice" not in text or link not in text:
                fail(f"{kind} of {m['Subject']} lacks the subject or the link")
        if not m["Message-ID"].startswith("<evt-"):
            fail(f"Message-ID {m['Message-ID']}")
    subjects = [m["Subject"] for _, m in mails]
    if sum("Resolved" in s and "how did we do" in s for s in subjects) != 1:
        fail(f"the resolution mail: {subjects}")
    if not any("Re: [#" in s for s in subjects):
        fail(f"no reply mail: {subjects}")
    if sum(s == f"[#{anns}] You missed a call from Grace Hopper" for s in subjects) != 1:
        fail(f"the missed call's mail: {subjects}")
    proc.terminate()
    proc.wait(timeout=30)
    controller.stop()
    print(json.dumps({"mails": len(mails), "distinct": len(set(ids)), "resent_after_crash": len(ids) - len(set(ids)),
                      "to_opted_out": 0, "internal_notes_mailed": 0}))


if __name__ == "__main__":
    main()
