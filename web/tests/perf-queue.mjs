// Time to first render of the live queue with N open tickets (default 1,000), in Chromium.
// Not part of the suite (a measurement, not a test):
//   cargo build --release && SUPPORT_BIN=target/release/support-service node web/tests/perf-queue.mjs [N]
// Tickets are written through gRPC-Web from Node (hand-framed CreateTicket requests), then
// the queue page is opened as an admin; the figure is the page's own `queue-rendered` mark
// (milliseconds from navigation start until the snapshot's rows are in the DOM).

import { adminToken, browser, database, freePort, grpcurl, startServer } from "./harness.mjs";

const count = Number(process.argv[2] ?? 1000);

function varint(n) {
  const out = [];
  let v = BigInt(n);
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}
const tag = (field, wire) => varint((field << 3) | wire);
const int = (field, n) => [...tag(field, 0), ...varint(n)];
const str = (field, s) => {
  const bytes = [...Buffer.from(s)];
  return [...tag(field, 2), ...varint(bytes.length), ...bytes];
};

/** CreateTicket through gRPC-Web framing, as a browser sends it. */
async function createTicket(port, token, customerId, departmentId, i) {
  const message = Buffer.from([
    ...int(1, customerId), ...int(2, departmentId), ...int(3, 7), ...str(4, `Load ticket ${i}`),
    ...str(5, "Written by the queue's render measurement."), ...int(6, 1 + (i % 3)), ...int(7, 1 + (i % 5)),
  ]);
  const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), message]);
  frame.writeUInt32BE(message.length, 1);
  const r = await fetch(`http://127.0.0.1:${port}/support.v1.TicketService/CreateTicket`, {
    method: "POST",
    headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1", authorization: `Bearer ${token}` },
    body: frame,
  });
  const body = Buffer.from(await r.arrayBuffer());
  if (!body.toString("latin1").includes("grpc-status:0")) throw new Error(`CreateTicket failed: ${body.toString("latin1")}`);
}

const db = database();
const port = await freePort();
const server = await startServer(db, port, { SUPPORT_AUTO_ASSIGN: "false" });
try {
  const admin = await adminToken(db, port);
  const department = (await grpcurl(port, "support.v1.DepartmentService/CreateDepartment", { department: { name: "Load", conversationMode: "CONVERSATION_MODE_CHAT" } }, admin)).department.id;
  const customer = (await grpcurl(port, "support.v1.CustomerService/CreateCustomer", { customer: { firstName: "Load", lastName: "Test", email: "load@example.com", tier: "CUSTOMER_TIER_PAID" } }, admin)).customer.id;
  const started = Date.now();
  for (let i = 0; i < count; i += 8) {
    await Promise.all([...Array(Math.min(8, count - i)).keys()].map((k) => createTicket(port, admin, customer, department, i + k)));
  }
  console.log(`${count} tickets written in ${Date.now() - started} ms`);

  const agent = (await grpcurl(port, "support.v1.AgentService/CreateAgent", { agent: { firstName: "Load", lastName: "Agent", email: "agent@load.example", departmentId: department } }, admin)).agent;
  await grpcurl(port, "support.v1.AuthService/SetAgentPassword", { agentId: agent.id, password: "correct horse battery" }, admin);

  const chrome = await browser();
  const page = await (await chrome.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.getByLabel("Email").fill("agent@load.example");
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator("tr[data-ticket]").nth(count - 1).waitFor({ timeout: 60_000 });
  const runs = [];
  for (let run = 0; run < 5; run++) {
    // A returning agent: the page loads, resumes the session with the tab's refresh token,
    // opens WatchQueue and renders the snapshot.
    await page.reload();
    await page.locator("tr[data-ticket]").nth(count - 1).waitFor({ timeout: 60_000 });
    const [ms, inPage] = await page.evaluate(() => {
      const rendered = performance.getEntriesByName("queue-rendered").at(-1);
      const opened = performance.getEntriesByName("queue-start").at(-1);
      return [rendered?.startTime ?? NaN, (rendered?.startTime ?? NaN) - (opened?.startTime ?? NaN)];
    });
    const rows = await page.locator("tr[data-ticket]").count();
    runs.push(ms);
    console.log(`run ${run + 1}: ${rows} rows rendered ${ms.toFixed(0)} ms after navigation start (${inPage.toFixed(0)} ms after the queue page opened)`);
  }
  runs.sort((a, b) => a - b);
  console.log(`median time to first render of ${count} open tickets: ${runs[2].toFixed(0)} ms`);
  await chrome.close();
} finally {
  await server.stop();
}
