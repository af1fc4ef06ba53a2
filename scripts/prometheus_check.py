"""Asks a real Prometheus about the load scripts/prometheus-test.sh sent, and evaluates
every query of the Grafana dashboard. Usage: prometheus_check.py PROMETHEUS_URL DASHBOARD."""

import json
import sys
import time
import urllib.parse
import urllib.request

BASE, DASHBOARD = sys.argv[1], sys.argv[2]
# What the load sent, by (method, code).
SENT = {("GetTicket", "OK"): 30, ("GetTicket", "NotFound"): 10, ("CreateTicket", "OK"): 1, ("CreateTicket", "InvalidArgument"): 5}


def query(expr):
    url = f"{BASE}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=10) as r:
        answer = json.load(r)
    if answer.get("status") != "success":
        raise SystemExit(f"query failed: {expr}: {answer}")
    return answer["data"]["result"]


def by_method(result):
    return {r["metric"].get("grpc_method"): float(r["value"][1]) for r in result}


# Wait until Prometheus has scraped the whole load, then one more scrape.
deadline = time.time() + 60
while True:
    counts = {
        (r["metric"]["grpc_method"], r["metric"]["grpc_code"]): float(r["value"][1])
        for r in query('grpc_server_handled_total{grpc_service="support.v1.TicketService"}')
    }
    if all(counts.get(k) == v for k, v in SENT.items()):
        break
    if time.time() > deadline:
        raise SystemExit(f"Prometheus never saw the load: {counts} (sent {SENT})")
    time.sleep(0.5)
time.sleep(1.5)
print("handled calls by method and code, as scraped:", counts)

# The error ratio by method: exactly what the load sent.
ratio = by_method(
    query(
        'sum by (grpc_method) (grpc_server_handled_total{grpc_service="support.v1.TicketService",grpc_code!="OK"})'
        ' / sum by (grpc_method) (grpc_server_handled_total{grpc_service="support.v1.TicketService"})'
    )
)
expected = {"GetTicket": 10 / 40, "CreateTicket": 5 / 6}
for method, want in expected.items():
    got = ratio.get(method)
    if got is None or abs(got - want) > 1e-9:
        raise SystemExit(f"error ratio of {method}: Prometheus says {got}, the load sent {want}")
print("error ratio by method:", ratio)

# The RPC rate by method over the last minute: the load's calls spread over the window.
# Prometheus extrapolates a rate from the samples, so it is checked as a rate and a ratio.
rate = by_method(query('sum by (grpc_method) (rate(grpc_server_handled_total{grpc_service="support.v1.TicketService"}[1m]))'))
errors = by_method(
    query('sum by (grpc_method) (rate(grpc_server_handled_total{grpc_service="support.v1.TicketService",grpc_code!="OK"}[1m]))')
)
if not rate.get("GetTicket", 0) > 0:
    raise SystemExit(f"no GetTicket rate: {rate}")
rate_ratio = errors["GetTicket"] / rate["GetTicket"]
if abs(rate_ratio - 0.25) > 0.1:
    raise SystemExit(f"GetTicket's error rate is {rate_ratio:.3f} of its rate; the load sent 0.25")
print("rate by method (calls/s over 1m):", rate)

# Every query of the dashboard is valid PromQL over metrics the service exports; the RPC
# panels have data.
with open(DASHBOARD) as f:
    dashboard = json.load(f)
empty = []
for panel in dashboard["panels"]:
    for target in panel["targets"]:
        if not query(target["expr"]):
            empty.append(target["expr"])
names = {"grpc_server_handled_total", "grpc_server_handling_seconds_bucket", "support_db_pool_connections_in_use"}
for name in names:
    if not query(name):
        raise SystemExit(f"the service exports no {name}")
for expr in empty:
    if "grpc_server" in expr:
        raise SystemExit(f"the dashboard's RPC query has no data: {expr}")
print(f"dashboard: {sum(len(p['targets']) for p in dashboard['panels'])} queries valid; {len(empty)} have no data yet (nothing happened for them)")
print("prometheus check passed")
