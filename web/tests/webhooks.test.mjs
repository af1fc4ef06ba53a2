// Webhooks from the console: an admin subscribes a receiver (a real HTTP server here),
// copies the signing secret the page shows once, and a ticket's creation then arrives
// signed with it; the page lists the delivery, sends it again, pauses the subscription
// and deletes it.

import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { createServer } from "node:http";
import { after, before, describe, test } from "node:test";
import { adminToken, browser, database, freePort, grpcurl, shot, shown, startServer } from "./harness.mjs";

/** An HTTP receiver that answers 204 and keeps what it was sent. */
async function receiver() {
  const got = [];
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      got.push({ path: req.url, headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return { got, url: `http://127.0.0.1:${server.address().port}/hooks/support`, close: () => server.close() };
}

/** Waits until `f()` is true, up to `ms`. */
async function until(f, ms, what) {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((ok) => setTimeout(ok, 50));
  }
}

/** The Standard Webhooks signature of a request with `secret` ("whsec_" + base64 key). */
function signature(secret, headers, body) {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const mac = createHmac("sha256", key).update(`${headers["webhook-id"]}.${headers["webhook-timestamp"]}.${body}`);
  return `v1,${mac.digest("base64")}`;
}

describe("webhooks in the console", () => {
  let db, port, server, chrome, admin, adminJwt, sink, department;

  before(async () => {
    sink = await receiver();
    db = database();
    port = await freePort();
    server = await startServer(db, port, { SUPPORT_WEBHOOK_ALLOW: "127.0.0.1", SUPPORT_WEBHOOK_BACKOFF_MS: "100" });
    adminJwt = await adminToken(db, port);
    department = (await grpcurl(port, "support.v1.DepartmentService/CreateDepartment", { department: { name: "Billing", conversationMode: "CONVERSATION_MODE_TICKET" } }, adminJwt))
      .department;
    chrome = await browser();
    admin = await (await chrome.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await admin.goto(server.url);
    await admin.getByLabel("Access token").fill(adminJwt);
    await admin.getByRole("button", { name: "Use token" }).click();
    await admin.getByRole("heading", { name: "Queue" }).waitFor();
  });

  after(async () => {
    await chrome?.close();
    await server?.stop();
    sink?.close();
  });

  test("an admin subscribes a receiver; events arrive signed with the secret shown once", async () => {
    await admin.getByRole("link", { name: "Webhooks" }).click();
    await admin.getByRole("heading", { name: "Webhooks" }).waitFor();
    await admin.getByLabel("URL").fill(sink.url);
    await admin.getByLabel("Department").selectOption({ label: "Billing" });
    await admin.getByLabel("Ticket created").check();
    await admin.getByRole("button", { name: "Create webhook" }).click();
    await shown(admin.getByRole("heading", { name: "Signing secret" }));
    const secret = (await admin.locator("code.secret").innerText()).trim();
    assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    const row = admin.getByRole("row").filter({ hasText: sink.url });
    assert.match(await row.innerText(), /Ticket created[\s\S]*Billing[\s\S]*active/);
    await shot(admin, "admin-webhooks");

    // Only the creation's answer holds the secret: the page drawn again has it no more.
    await admin.getByRole("link", { name: "Queue" }).click();
    await admin.getByRole("heading", { name: "Queue" }).waitFor();
    await admin.getByRole("link", { name: "Webhooks" }).click();
    await shown(admin.getByRole("row").filter({ hasText: sink.url }));
    assert.equal(await admin.getByText(secret).count(), 0);

    // A customer's ticket in Billing: one TICKET_CREATED, signed with that secret.
    const me = await grpcurl(port, "support.v1.AuthService/Register", {
      firstName: "Ada",
      lastName: "Lovelace",
      email: "ada@example.com",
      password: "correct horse battery",
    });
    const ticket = await grpcurl(
      port,
      "support.v1.TicketService/CreateTicket",
      {
        customerId: me.customerId,
        departmentId: department.id,
        category: "TICKET_CATEGORY_OVERCHARGED_TRANSACTION",
        subject: "Charged twice",
        description: "My card was charged twice for November.",
        severity: "SEVERITY_MAJOR",
        impact: 1,
      },
      adminJwt,
    );
    await until(() => sink.got.length >= 1, 10_000, "the ticket's event at the receiver");
    const [first] = sink.got;
    assert.equal(first.path, "/hooks/support");
    assert.equal(first.headers["webhook-signature"], signature(secret, first.headers, first.body));
    const event = JSON.parse(first.body);
    assert.equal(event.kind, "QUEUE_EVENT_KIND_TICKET_CREATED");
    assert.equal(event.ticket.id, ticket.ticket.id);

    // The delivery is listed; sending it again posts the same message id once more.
    await admin.getByRole("link", { name: /^Deliveries of webhook/ }).click();
    const deliveries = admin.getByRole("region", { name: `Deliveries to ${sink.url}` });
    await shown(deliveries);
    const delivered = deliveries.getByRole("row").filter({ hasText: "delivered" });
    await shown(delivered);
    assert.match(await delivered.first().innerText(), /delivered\s+1\s+204/);
    await admin.getByRole("button", { name: /^Deliver again: event \d+$/ }).first().click();
    await until(() => sink.got.length >= 2, 10_000, "the event delivered again");
    assert.equal(sink.got[1].headers["webhook-id"], first.headers["webhook-id"]);
    assert.equal(sink.got[1].headers["webhook-signature"], signature(secret, sink.got[1].headers, sink.got[1].body));
    await shown(deliveries.getByRole("cell", { name: "delivered (by hand)" }));
  });

  test("a paused subscription gets nothing until resumed; a deleted one is gone", async () => {
    // (A link, not a load: the operator's token lives in the page's memory only.)
    await admin.getByRole("link", { name: "Webhooks", exact: true }).click();
    await shown(admin.getByRole("row").filter({ hasText: sink.url }));
    await admin.getByRole("button", { name: /^Pause webhook/ }).click();
    await shown(admin.getByRole("cell", { name: "paused" }));
    const before = sink.got.length;
    const me = await grpcurl(port, "support.v1.AuthService/Login", { email: "ada@example.com", password: "correct horse battery" });
    await grpcurl(
      port,
      "support.v1.TicketService/CreateTicket",
      {
        departmentId: department.id,
        category: "TICKET_CATEGORY_OVERCHARGED_TRANSACTION",
        subject: "A refund, please",
        description: "For the second charge.",
        severity: "SEVERITY_MINOR",
        impact: 1,
      },
      me.tokens.accessToken,
    );
    await new Promise((ok) => setTimeout(ok, 1500));
    assert.equal(sink.got.length, before, "nothing is delivered while paused");

    await admin.getByRole("button", { name: /^Resume webhook/ }).click();
    await shown(admin.getByRole("cell", { name: "active" }));
    await until(() => sink.got.length === before + 1, 10_000, "the waiting event after resuming");
    assert.equal(JSON.parse(sink.got[before].body).ticket.subject, "A refund, please");

    admin.once("dialog", (d) => void d.accept());
    await admin.getByRole("button", { name: /^Delete webhook/ }).click();
    await admin.getByText("Webhook deleted.").waitFor();
    await admin.getByRole("row").filter({ hasText: sink.url }).waitFor({ state: "detached" });
    const left = await grpcurl(port, "support.v1.WebhookService/ListWebhooks", {}, adminJwt);
    assert.deepEqual(left.webhooks ?? [], []);
  });
});
