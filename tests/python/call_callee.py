"""A Python grpcio client plays the callee of a voice call, as another team's softphone would.

Against a running server: a customer signs up and watches her ticket with include_calls;
an agent (signed in with a password an internal service set) rings her. She learns of the
ringing call from WatchQueue, accepts it, opens her JoinCall relay and receives the
agent's offer and ICE candidate sent while it rang; she sends her answer and a candidate,
which reach the agent's relay only; she hangs up, both relays end with the call ACCEPTED,
and the ticket's record shows it. Then she declines a second call, and a third party's
signal is refused.

Usage: SUPPORT_TOKEN=<service token> python3 tests/python/call_callee.py HOST:PORT
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checks  # noqa: E402
from checks import Stream, check  # noqa: E402
from support_stubs import bearer  # noqa: E402

import grpc  # noqa: E402
from support.v1 import agent_service_pb2 as ags  # noqa: E402
from support.v1 import agent_service_pb2_grpc as ags_grpc  # noqa: E402
from support.v1 import auth_service_pb2 as auth  # noqa: E402
from support.v1 import auth_service_pb2_grpc as auth_grpc  # noqa: E402
from support.v1 import call_service_pb2 as cls  # noqa: E402
from support.v1 import call_service_pb2_grpc as cls_grpc  # noqa: E402
from support.v1 import common_pb2 as c  # noqa: E402
from support.v1 import department_service_pb2 as ds  # noqa: E402
from support.v1 import department_service_pb2_grpc as ds_grpc  # noqa: E402
from support.v1 import log_service_pb2 as ls  # noqa: E402
from support.v1 import log_service_pb2_grpc as ls_grpc  # noqa: E402
from support.v1 import ticket_service_pb2 as ts  # noqa: E402
from support.v1 import ticket_service_pb2_grpc as ts_grpc  # noqa: E402

PASSWORD = "a decent passphrase"


def main(target):
    service = bearer(os.environ["SUPPORT_TOKEN"])
    channel = grpc.insecure_channel(target)
    grpc.channel_ready_future(channel).result(timeout=30)
    accounts = auth_grpc.AuthServiceStub(channel)
    agents = ags_grpc.AgentServiceStub(channel)
    calls = cls_grpc.CallServiceStub(channel)
    tickets = ts_grpc.TicketServiceStub(channel)
    logs = ls_grpc.LogServiceStub(channel)

    dept = ds_grpc.DepartmentServiceStub(channel).CreateDepartment(
        ds.CreateDepartmentRequest(department=c.Department(name="Calls", conversation_mode=c.CONVERSATION_MODE_CHAT)),
        metadata=service,
    ).department
    agent = agents.CreateAgent(
        ags.CreateAgentRequest(
            agent=c.Agent(first_name="Grace", last_name="Hopper", email="grace@calls.example", department_id=dept.id)
        ),
        metadata=service,
    ).agent
    accounts.SetAgentPassword(auth.SetAgentPasswordRequest(agent_id=agent.id, password=PASSWORD), metadata=service)
    as_agent = bearer(accounts.Login(auth.LoginRequest(email="grace@calls.example", password=PASSWORD)).tokens.access_token)
    me = accounts.Register(
        auth.RegisterRequest(first_name="Guido", last_name="Py", email="guido@calls.example", password=PASSWORD)
    )
    as_me = bearer(me.tokens.access_token)
    ticket = tickets.CreateTicket(
        ts.CreateTicketRequest(
            customer_id=me.customer_id,
            department_id=dept.id,
            category=c.TICKET_CATEGORY_OTHER,
            subject="Call me",
            description="from Python",
            severity=c.SEVERITY_MINOR,
            impact=1,
        ),
        metadata=as_me,
    ).ticket
    check(ticket.assigned_agent_id == agent.id, "the only agent has the ticket")

    # The customer's queue stream; the agent rings.
    queue_stream = Stream(
        tickets.WatchQueue(ts.WatchQueueRequest(ticket_id=ticket.id, include_calls=True), metadata=as_me)
    )
    kind, _ = queue_stream.next()
    check(kind == "snapshot_ticket", "the snapshot holds the ticket")
    kind, _ = queue_stream.next()
    check(kind == "snapshot_end", "then its end")
    placed = calls.StartCall(cls.StartCallRequest(ticket_id=ticket.id), metadata=as_agent).call
    agent_relay = Stream(calls.JoinCall(cls.JoinCallRequest(call_id=placed.id), metadata=as_agent))
    kind, first = agent_relay.next()
    check(kind == "call" and first.state == c.CALL_STATE_RINGING, "the caller's relay starts with the ringing call")
    offer = cls.SendCallSignalRequest(
        call_id=placed.id, description=c.SessionDescription(type=c.SDP_TYPE_OFFER, sdp="v=0 offer from Grace")
    )
    calls.SendCallSignal(offer, metadata=as_agent)
    host = c.IceCandidate(candidate="candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host", sdp_mid="0")
    calls.SendCallSignal(cls.SendCallSignalRequest(call_id=placed.id, candidate=host), metadata=as_agent)

    kind, event = queue_stream.next()
    check(kind == "event" and event.kind == ts.QUEUE_EVENT_KIND_CALL_UPDATED, f"the ring arrives on WatchQueue: {kind}")
    rung = event.call
    check(rung.state == c.CALL_STATE_RINGING and rung.callee.id == me.customer_id, "ringing, for me")
    check(rung.caller.display_name == "Grace Hopper", "from the agent, by name")

    # Accept and join: the offer and candidate sent while ringing come first.
    accepted = calls.AnswerCall(cls.AnswerCallRequest(call_id=rung.id, accept=True), metadata=as_me).call
    check(accepted.state == c.CALL_STATE_ACTIVE, "accepted: ACTIVE")
    relay = Stream(calls.JoinCall(cls.JoinCallRequest(call_id=rung.id), metadata=as_me))
    kind, now = relay.next()
    check(kind == "call" and now.state == c.CALL_STATE_ACTIVE, "the callee's relay starts with the active call")
    kind, sig = relay.next()
    check(kind == "signal" and sig.description.sdp == "v=0 offer from Grace", "the offer, replayed")
    kind, sig = relay.next()
    check(kind == "signal" and "typ host" in sig.candidate.candidate, "the candidate, replayed")
    try:
        calls.SendCallSignal(
            cls.SendCallSignalRequest(call_id=rung.id, description=c.SessionDescription(type=c.SDP_TYPE_OFFER, sdp="v=0")),
            metadata=as_me,
        )
        check(False, "the callee may not offer")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.FAILED_PRECONDITION, f"FAILED_PRECONDITION, got {e.code()}")
    answer = cls.SendCallSignalRequest(
        call_id=rung.id, description=c.SessionDescription(type=c.SDP_TYPE_ANSWER, sdp="v=0 answer from Python")
    )
    calls.SendCallSignal(answer, metadata=as_me)
    kind, state = agent_relay.next()
    check(kind == "call" and state.state == c.CALL_STATE_ACTIVE, "the caller sees the call accepted")
    kind, sig = agent_relay.next()
    check(kind == "signal" and sig.description.sdp == "v=0 answer from Python", "and gets the answer")
    check(sig.WhichOneof("payload") == "description" and sig.description.type == c.SDP_TYPE_ANSWER, "typed ANSWER")

    # A third party is refused.
    stranger = accounts.Register(
        auth.RegisterRequest(first_name="Eve", last_name="Py", email="eve@calls.example", password=PASSWORD)
    )
    try:
        calls.SendCallSignal(
            cls.SendCallSignalRequest(call_id=rung.id, candidate=host), metadata=bearer(stranger.tokens.access_token)
        )
        check(False, "a stranger may not signal")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.NOT_FOUND, f"NOT_FOUND for a stranger, got {e.code()}")

    # She hangs up: both relays get the end and close.
    ended = calls.EndCall(cls.EndCallRequest(call_id=rung.id), metadata=as_me).call
    check(ended.outcome == c.CALL_OUTCOME_ACCEPTED, "ended: ACCEPTED")
    for name, stream in (("caller", agent_relay), ("callee", relay)):
        kind, last = stream.next()
        check(kind == "call" and last.state == c.CALL_STATE_ENDED, f"the {name}'s relay gets the end")
        check(stream.next() is None, f"then the {name}'s relay closes")

    # A second call, declined.
    second = calls.StartCall(cls.StartCallRequest(ticket_id=ticket.id), metadata=as_agent).call
    declined = calls.AnswerCall(cls.AnswerCallRequest(call_id=second.id, accept=False), metadata=as_me).call
    check(declined.outcome == c.CALL_OUTCOME_DECLINED, "declined: DECLINED")

    records = [
        entry.body
        for entry in logs.ListLogs(ls.ListLogsRequest(ticket_id=ticket.id), metadata=as_me).logs
        if entry.sender_kind == c.SENDER_KIND_SYSTEM
    ]
    check(len(records) == 2, f"two call records: {records}")
    check(records[0].startswith("Call from Grace Hopper (agent) to Guido Py (customer): ACCEPTED"), records[0])
    check("DECLINED" in records[1], records[1])
    print(f"{checks.passed} passed")


if __name__ == "__main__":
    main(sys.argv[1])
