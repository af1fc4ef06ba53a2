// The console in a real browser against the real service: a customer, an agent, an admin
// and a supervisor, each in their own browser context, as the scenarios describe.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  RECORD_RESPONSES,
  adminToken,
  browser,
  command,
  database,
  freePort,
  grpcurl,
  reloadSafely,
  shot,
  shown,
  startServer,
  trackRefreshes,
} from "./harness.mjs";

const PASSWORD = "correct horse battery";
const NOTE = "INTERNAL-ONLY-7f3a: the customer is on the legacy plan";
const REPLY = "Hello Ada, we are looking at the checkout now.";
/** Seconds an access token lives on the test server: the refresh test outlives one. */
const ACCESS_TTL = 8;

describe("the console", () => {
  let db, port, server, chrome, admin, agent, customer, adminJwt, ticketId;

  before(async () => {
    db = database();
    port = await freePort();
    server = await startServer(db, port, { SUPPORT_ACCESS_TOKEN_TTL_SECS: String(ACCESS_TTL) });
    adminJwt = await adminToken(db, port);
    chrome = await browser();
    admin = await (await chrome.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    agent = await (await chrome.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    const customerContext = await chrome.newContext({ viewport: { width: 1280, height: 900 } });
    await customerContext.addInitScript(RECORD_RESPONSES);
    customer = await customerContext.newPage();
    // Both reload mid-session, which must not cut a token refresh short.
    trackRefreshes(agent);
    trackRefreshes(customer);
  });

  after(async () => {
    await chrome?.close();
    await server?.stop();
  });

  test("an admin signs in with a token and sets up a department and an agent", async () => {
    await admin.goto(server.url);
    await admin.getByRole("heading", { name: "Sign in" }).waitFor();
    await shot(admin, "sign-in");
    await admin.getByLabel("Access token").fill(adminJwt);
    await admin.getByRole("button", { name: "Use token" }).click();
    await admin.getByRole("heading", { name: "Queue" }).waitFor();

    await admin.getByRole("link", { name: "Departments" }).click();
    await admin.getByLabel("Name").fill("Billing");
    await admin.getByRole("button", { name: "Create department" }).click();
    await admin.getByRole("cell", { name: "Billing" }).waitFor();
    await shot(admin, "admin-departments");

    await admin.getByRole("link", { name: "Agents" }).click();
    await admin.getByLabel("First name").fill("Grace");
    await admin.getByLabel("Last name").fill("Hopper");
    await admin.getByLabel("Email").fill("grace@support.example");
    await admin.getByRole("button", { name: "Create agent" }).click();
    await admin.getByRole("cell", { name: "grace@support.example" }).waitFor();
    await admin.getByLabel("New password").fill(PASSWORD);
    await admin.getByRole("button", { name: "Set password" }).click();
    await admin.getByText("Password set").waitFor();
    await shot(admin, "admin-agents");
  });

  test("bad input is shown in words naming the field", async () => {
    await customer.goto(`${server.url}#/register`);
    await customer.getByLabel("First name").fill("Ada");
    await customer.getByLabel("Last name").fill("Lovelace");
    await customer.getByLabel("Email").fill("ada@example.com");
    // Long enough for the browser, refused by the service: its reason must be shown.
    await customer.getByLabel(/Password/).fill("a".repeat(129));
    await customer.getByRole("button", { name: "Create my account" }).click();
    const alert = customer.getByRole("alert");
    await alert.waitFor();
    assert.match(await alert.innerText(), /^password: /);
  });

  test("1. a customer signs up and opens a ticket; the agent's queue shows it within a second", async () => {
    await agent.goto(server.url);
    await agent.getByLabel("Email").fill("grace@support.example");
    await agent.getByLabel("Password").fill(PASSWORD);
    await agent.getByRole("button", { name: "Sign in" }).click();
    await agent.locator('.live[data-state="live"]').waitFor();

    await customer.getByLabel(/Password/).fill("analytical engine");
    await customer.getByRole("button", { name: "Create my account" }).click();
    await customer.getByRole("heading", { name: "My tickets" }).waitFor();
    await customer.getByRole("link", { name: "Open a new ticket" }).click();
    await customer.getByLabel("Category").selectOption({ label: "Bug report" });
    await customer.getByLabel("Severity").selectOption({ label: "Critical: it blocks me entirely" });
    await customer.getByLabel(/Impact/).fill("4");
    await customer.getByLabel("Subject").fill("Checkout fails");
    await customer.getByLabel("Description").fill("The pay button answers 500.");
    await shot(customer, "customer-new-ticket");
    await customer.getByRole("button", { name: "Open the ticket" }).click();
    await customer.waitForURL(/#\/ticket\/\d+/);
    const opened = Date.now();
    ticketId = customer.url().split("/").pop();

    await agent.locator(`tr[data-ticket="${ticketId}"]`).waitFor({ timeout: 1000 });
    const seen = Date.now() - opened;
    console.log(`queue shows the new ticket ${seen} ms after the customer's page did`);
    assert.match(await agent.locator(`tr[data-ticket="${ticketId}"]`).innerText(), /Checkout fails/);

    // The customer sees the priority and the breakdown behind it.
    const priority = customer.getByLabel("Priority");
    await priority.waitFor();
    const fromService = await grpcurl(port, "support.v1.TicketService/GetTicket", { id: ticketId }, adminJwt);
    const b = fromService.ticket.priority.breakdown;
    assert.match(await priority.innerText(), new RegExp(`score ${fromService.ticket.priority.score} = severity ${b.severityPoints ?? 0} \\+ tier ${b.tierPoints ?? 0}`));
    assert.equal(await customer.locator(".turn").getAttribute("data-turn"), "agent");
    await shot(customer, "customer-ticket");
    await shot(agent, "agent-queue");
  });

  test("2. the agent replies and adds an internal note; the customer sees the reply and never the note", async () => {
    await agent.locator(`tr[data-ticket="${ticketId}"] a`).click();
    await agent.getByLabel("Message").fill(NOTE);
    await agent.getByLabel("Internal note (staff only)").check();
    await agent.getByRole("button", { name: "Send" }).click();
    await agent.locator(".message.internal").waitFor();
    await agent.getByLabel("Message").fill(REPLY);
    await agent.getByRole("button", { name: "Send" }).click();

    await customer.getByText(REPLY).waitFor({ timeout: 5000 });
    assert.equal(await customer.locator(".turn").getAttribute("data-turn"), "customer");
    const reply = customer.locator(".message", { hasText: REPLY });
    assert.equal(await reply.locator(".from strong").textContent(), "Grace Hopper", "she sees who answers");
    assert.equal(await customer.getByText("INTERNAL-ONLY-7f3a").count(), 0);

    // An attachment up, and down again on the agent's side.
    await customer.getByLabel("Message").fill("Here is the receipt.");
    await customer.getByLabel("Attachments").setInputFiles({ name: "receipt.txt", mimeType: "text/plain", buffer: Buffer.from("order 42: 19.99 EUR\n") });
    await customer.getByRole("button", { name: "Send" }).click();
    await customer.getByText("receipt.txt").waitFor();
    const download = agent.waitForEvent("download");
    await agent.getByRole("button", { name: /receipt\.txt/ }).click();
    const file = await download;
    const stream = await file.createReadStream();
    let content = "";
    for await (const chunk of stream) content += chunk;
    assert.equal(content, "order 42: 19.99 EUR\n");
    await shot(agent, "agent-ticket");

    // Nothing the customer's browser received carries the note; the reply did arrive.
    const received = await customer.evaluate(() => window.__received.join("\n"));
    assert.ok(received.includes(REPLY), "the recorder saw the reply");
    assert.ok(!received.includes("INTERNAL-ONLY-7f3a"), "the internal note reached the customer's browser");
    await shot(customer, "customer-conversation");
  });

  test("search: staff find internal notes; a customer finds her ticket by its public words only", async () => {
    await agent.getByRole("searchbox", { name: "Search tickets" }).fill("legacy plan");
    await agent.getByRole("searchbox", { name: "Search tickets" }).press("Enter");
    const hit = agent.locator(`ol.results li[data-ticket="${ticketId}"]`);
    await hit.waitFor({ timeout: 5000 });
    assert.deepEqual(await hit.locator("mark").allTextContents(), ["legacy", "plan"]);
    await shot(agent, "agent-search");

    await customer.getByRole("searchbox", { name: "Search tickets" }).fill("legacy plan");
    await customer.getByRole("searchbox", { name: "Search tickets" }).press("Enter");
    await customer.getByText("No tickets match.").waitFor({ timeout: 5000 });
    await customer.getByLabel("Words").fill("receipt");
    await customer.getByRole("button", { name: "Search" }).click();
    await customer.locator(`ol.results li[data-ticket="${ticketId}"] mark`, { hasText: "receipt" }).waitFor({ timeout: 5000 });
    // Both back on the ticket, from their results.
    await customer.locator(`ol.results li[data-ticket="${ticketId}"] a`).click();
    await customer.locator("h1", { hasText: "#" }).waitFor();
    await hit.locator("a").click();
    await agent.getByRole("button", { name: "Move to Resolved" }).waitFor();
  });

  test("answers and history: a quick reply drafted for the ticket; each side's timeline", async () => {
    const { ticket } = await grpcurl(port, "support.v1.TicketService/GetTicket", { id: ticketId }, adminJwt);
    const quickReply = { departmentId: ticket.departmentId, title: "Greeting", body: "Hello {customer.first_name}, this is ticket {ticket.id}." };
    await grpcurl(port, "support.v1.ReplyService/CreateQuickReply", { quickReply }, adminJwt);
    await reloadSafely(agent);
    await agent.getByLabel("Quick reply").selectOption({ label: "Greeting" });
    await agent.getByRole("button", { name: "Insert" }).click();
    await agent.waitForFunction(() => document.querySelector("textarea[name=body]")?.value.startsWith("Hello Ada"));
    assert.equal(await agent.getByLabel("Message").inputValue(), `Hello Ada, this is ticket ${ticketId}.`);
    const staffView = agent.getByRole("list", { name: "History" });
    await staffView.locator('li[data-kind="assignmentChanged"]').first().waitFor({ timeout: 5000 });
    assert.ok((await staffView.getByText(/Internal note from/).count()) >= 1, "staff see the note in the history");
    await staffView.scrollIntoViewIfNeeded();
    await shot(agent, "agent-answers-and-history");
    await agent.getByLabel("Message").fill("");

    const customerView = customer.getByRole("list", { name: "History" });
    await customerView.locator('li[data-kind="opened"]').waitFor({ timeout: 5000 });
    assert.ok((await customerView.locator('li[data-kind="messageAdded"]').count()) >= 2, "her messages and the reply");
    assert.equal(await customerView.getByText(/Internal note/).count(), 0, "never the internal note");
    assert.equal(await customerView.locator('li[data-kind="assignmentChanged"]').count(), 0, "nor staff's entries");
    assert.equal(await customer.getByLabel("Quick reply").count(), 0, "quick replies are for staff");
  });

  test("3. the customer closes the ticket with a rating", async () => {
    await agent.getByRole("button", { name: "Move to Resolved" }).click();
    await customer.locator("h1 + .meta .status", { hasText: "Resolved" }).waitFor({ timeout: 5000 });
    await customer.getByRole("button", { name: "Close with this rating" }).waitFor({ timeout: 5000 });
    await customer.getByLabel("Rating").selectOption("4");
    await customer.getByRole("button", { name: "Close with this rating" }).click();
    await customer.getByText("This ticket is closed.").waitFor();
    const closed = await grpcurl(port, "support.v1.TicketService/GetTicket", { id: ticketId }, adminJwt);
    assert.equal(closed.ticket.status, "TICKET_STATUS_CLOSED");
    assert.equal(closed.ticket.rating, 4);
  });

  test("5. an expired access token is refreshed without the user noticing", async () => {
    const refreshes = [];
    customer.on("request", (r) => r.url().endsWith("/support.v1.AuthService/Refresh") && refreshes.push(r.url()));
    await customer.waitForTimeout((ACCESS_TTL + 1) * 1000);
    await customer.getByRole("link", { name: "My tickets" }).click();
    await customer.getByRole("link", { name: /Checkout fails/ }).waitFor();
    assert.ok(refreshes.length >= 1, "the console refreshed its token");
    // A reload keeps the tab's session (the refresh token lives for the tab).
    await reloadSafely(customer);
    await customer.getByRole("heading", { name: "My tickets" }).waitFor();
    await shot(customer, "customer-tickets");
    // Her email preference: unticked, the service keeps her out of the mail.
    const emailMe = customer.getByLabel("Email me when support replies or resolves a ticket");
    assert.equal(await emailMe.isChecked(), true, "mail is on by default");
    await emailMe.uncheck();
    await customer.getByText("No more email").waitFor();
    const { customers: [ada] } = await grpcurl(port, "support.v1.CustomerService/ListCustomers", { email: "ada@example.com" }, adminJwt);
    assert.equal(ada.emailOptOut, true);
    await emailMe.check();
    await customer.getByText("You will get email").waitFor();
    // Sign-out revokes the refresh token.
    const token = await customer.evaluate(() => sessionStorage.getItem("support.refresh"));
    await customer.getByRole("button", { name: "Sign out" }).click();
    await customer.getByRole("heading", { name: "Sign in" }).waitFor();
    await assert.rejects(grpcurl(port, "support.v1.AuthService/Refresh", { refreshToken: token }), /Unauthenticated/);
  });

  test("6. the agent's queue survives the server restarting and shows what changed meanwhile", async () => {
    await agent.getByRole("link", { name: "Queue" }).click();
    await agent.locator('.live[data-state="live"]').waitFor();
    await agent.evaluate(() => (window.__sameDocument = true));
    await agent.context().setOffline(true);
    await server.stop();
    server = await startServer(db, port, { SUPPORT_ACCESS_TOKEN_TTL_SECS: String(ACCESS_TTL) });
    const customerId = (await grpcurl(port, "support.v1.CustomerService/ListCustomers", { email: "ada@example.com" }, adminJwt)).customers[0].id;
    const department = (await grpcurl(port, "support.v1.DepartmentService/ListDepartments", {}, adminJwt)).departments[0].id;
    const made = await grpcurl(port, "support.v1.TicketService/CreateTicket", {
      customerId, departmentId: department, category: "TICKET_CATEGORY_WRONG_ORDER", subject: "Made while the agent was away",
      description: "Two left shoes.", severity: "SEVERITY_MINOR", impact: 1,
    }, adminJwt);
    await agent.context().setOffline(false);
    await agent.locator(`tr[data-ticket="${made.ticket.id}"]`).waitFor({ timeout: 15_000 });
    assert.match(await agent.locator(".live").innerText(), /resumed after event \d+/);
    assert.equal(await agent.evaluate(() => window.__sameDocument), true, "no reload");
  });

  test("PERMISSION_DENIED is said in words; a disabled account is led to sign-in", async () => {
    const shipping = (await grpcurl(port, "support.v1.DepartmentService/CreateDepartment", { department: { name: "Shipping", conversationMode: "CONVERSATION_MODE_CHAT" } }, adminJwt)).department.id;
    const customerId = (await grpcurl(port, "support.v1.CustomerService/ListCustomers", { email: "ada@example.com" }, adminJwt)).customers[0].id;
    const elsewhere = await grpcurl(port, "support.v1.TicketService/CreateTicket", {
      customerId, departmentId: shipping, category: "TICKET_CATEGORY_OTHER", subject: "Not Grace's department",
      description: "Lost parcel.", severity: "SEVERITY_MINOR", impact: 1,
    }, adminJwt);
    await agent.goto(`${server.url}#/ticket/${elsewhere.ticket.id}`);
    await agent.locator("#toast.shown", { hasText: "You are not allowed to do this." }).waitFor();
    // An address that names no ticket is said in words, in the page's place.
    await agent.goto(`${server.url}#/ticket/abc`);
    await agent.locator("#main p.error", { hasText: 'There is no ticket "abc"' }).waitFor();

    const grace = (await grpcurl(port, "support.v1.AgentService/ListAgents", {}, adminJwt)).agents.find((a) => a.email === "grace@support.example");
    await grpcurl(port, "support.v1.AuthService/SetAccountEnabled", { account: { agentId: grace.id }, enabled: false }, adminJwt);
    // The standing poll spreads the change; then the next call is refused and refresh fails.
    await agent.waitForTimeout(1500);
    await agent.goto(`${server.url}#/queue`);
    await agent.getByRole("heading", { name: "Sign in" }).waitFor({ timeout: 10_000 });
    await grpcurl(port, "support.v1.AuthService/SetAccountEnabled", { account: { agentId: grace.id }, enabled: true }, adminJwt);
  });

  test("every control is labelled and sign-in works from the keyboard alone", async () => {
    const unlabelled = () =>
      document.querySelectorAll("input, select, textarea").length === 0
        ? ["no controls"]
        : [...document.querySelectorAll("input, select, textarea")]
            .filter((c) => c.labels.length === 0 && !c.getAttribute("aria-label"))
            .map((c) => c.outerHTML);
    for (const page of [agent, admin]) assert.deepEqual(await page.evaluate(unlabelled), [], page.url());
    await agent.locator("#main").focus();
    await agent.keyboard.press("Tab");
    await agent.keyboard.type("grace@support.example");
    await agent.keyboard.press("Tab");
    await agent.keyboard.type(PASSWORD);
    await agent.keyboard.press("Enter");
    await agent.getByRole("heading", { name: "Queue" }).waitFor();
    assert.deepEqual(await agent.evaluate(unlabelled), []);
  });

  test("layouts at 390 px wide", async () => {
    await agent.setViewportSize({ width: 390, height: 844 });
    await shot(agent, "agent-queue-390px");
    const overflow = await agent.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow} px wider than the screen`);
    await admin.getByRole("link", { name: "Customers" }).click();
    await admin.getByRole("heading", { name: "Customers" }).waitFor();
    await shot(admin, "admin-customers");
  });
});

describe("the dashboard on the demo dataset", () => {
  let db, port, server, chrome, page, adminJwt, supervisor;

  before(async () => {
    db = database();
    port = await freePort();
    await command(db, port, ["seed-demo"]);
    server = await startServer(db, port);
    adminJwt = await adminToken(db, port);
    const agents = (await grpcurl(port, "support.v1.AgentService/ListAgents", { pageSize: 100 }, adminJwt)).agents;
    supervisor = agents.find((a) => a.role === "AGENT_ROLE_SUPERVISOR");
    await grpcurl(port, "support.v1.AuthService/SetAgentPassword", { agentId: supervisor.id, password: PASSWORD }, adminJwt);
    chrome = await browser();
    page = await (await chrome.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  });

  after(async () => {
    await chrome?.close();
    await server?.stop();
  });

  test("4. the supervisor's dashboard shows the figures ReportService returns", async () => {
    await page.goto(server.url);
    await page.getByLabel("Email").fill(supervisor.email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("link", { name: "Dashboard" }).click();
    await shown(page.locator("#backlog table.numbers tbody tr"));
    await page.locator("#backlog canvas").waitFor();
    await shot(page, "supervisor-dashboard");

    const cells = async (panel) =>
      page.locator(`#${panel} table.numbers tbody tr`).evaluateAll((rows) => rows.map((r) => [...r.children].map((c) => c.textContent)));
    const num = (v) => String(Number(v ?? 0));

    const backlog = (await grpcurl(port, "support.v1.ReportService/GetBacklogReport", { scope: {} }, adminJwt)).rows ?? [];
    const backlogRows = await cells("backlog");
    assert.equal(backlogRows.length, backlog.length);
    backlog.forEach((r, i) => assert.deepEqual(backlogRows[i].slice(1), [num(r.openCount), num(r.breachedCount)]));

    const perAgent = (await grpcurl(port, "support.v1.ReportService/GetAgentReport", { scope: {} }, adminJwt)).rows ?? [];
    const agentRows = await cells("per-agent");
    assert.equal(agentRows.length, perAgent.length);
    perAgent.forEach((r, i) => {
      assert.deepEqual(agentRows[i].slice(1, 3), [num(r.ticketsHandled), num(r.ratingCount)]);
      if (Number(r.ratingCount) > 0) assert.equal(agentRows[i][4], r.ratingAverage.toFixed(2));
    });

    const buckets = (await grpcurl(port, "support.v1.ReportService/GetAgentsPerTicketReport", { scope: {} }, adminJwt)).buckets ?? [];
    assert.deepEqual(await cells("agents-per-ticket"), buckets.map((b) => [num(b.agentCount), num(b.ticketCount)]));

    const first = (await grpcurl(port, "support.v1.ReportService/GetFirstResponseReport", { scope: {} }, adminJwt)).firstResponse;
    const hours = (d) => String(Math.round(((parseFloat(d ?? "0s") || 0) / 3600) * 10) / 10);
    assert.deepEqual((await cells("first-response"))[0], [num(first.count), hours(first.min), hours(first.average), hours(first.max)]);

    const resolution = await grpcurl(port, "support.v1.ReportService/GetResolutionTimeReport", { scope: {} }, adminJwt);
    const months = await cells("resolution");
    assert.equal(months.length, (resolution.months ?? []).length + 1);
    (resolution.months ?? []).forEach((m, i) =>
      assert.deepEqual(months[i].slice(0, 3), [m.month, num(m.createToResolve?.count), hours(m.createToResolve?.average)]),
    );

    // The live queue of every department.
    await page.getByRole("link", { name: "Queue" }).click();
    await page.locator('.live[data-state="live"]').waitFor();
    await shot(page, "supervisor-queue");
  });

  test("a read answered UNAVAILABLE is asked again; a sign-in (a write) is not", async () => {
    const tab = await (await chrome.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    // What the service answers while its database is busy or down (a trailers-only
    // gRPC-Web response), given to the first tries; the later ones reach the service.
    const unavailable = {
      status: 200,
      headers: { "content-type": "application/grpc-web+proto", "grpc-status": "14", "grpc-message": "the database is unavailable; retry shortly" },
      body: "",
    };
    const tries = { login: 0, backlog: 0 };
    await tab.route("**/support.v1.AuthService/Login", (route) => (tries.login++ === 0 ? route.fulfill(unavailable) : route.continue()));
    await tab.route("**/support.v1.ReportService/GetBacklogReport", (route) =>
      tries.backlog++ < 2 ? route.fulfill(unavailable) : route.continue(),
    );

    await tab.goto(server.url);
    await tab.getByLabel("Email").fill(supervisor.email);
    await tab.getByLabel("Password").fill(PASSWORD);
    await tab.getByRole("button", { name: "Sign in" }).click();
    await tab.getByRole("alert").filter({ hasText: "not reachable right now" }).waitFor();
    assert.equal(tries.login, 1, "a sign-in answered UNAVAILABLE is not repeated by the console");

    await tab.getByRole("button", { name: "Sign in" }).click();
    // Signed in, the console goes to the queue: only then is a click on Dashboard the last
    // word (before it, the sign-in's own move to the queue could follow the click).
    await tab.getByRole("heading", { name: "Queue" }).waitFor();
    await tab.getByRole("link", { name: "Dashboard" }).click();
    await shown(tab.locator("#backlog table.numbers tbody tr"));
    assert.equal(tries.backlog, 3, "the backlog report was asked three times: two refused, the third answered");
    assert.equal(await tab.locator("#resolution .error").count(), 0);
    await tab.context().close();
  });
});
