// A real WebRTC call between two Chromium contexts, signalled only through the service:
// the agent calls from the ticket page, the customer's page rings, she accepts, both peer
// connections reach "connected" through a real TURN server (coturn) whose credentials each
// page got from GetIceServers, the agent hangs up, and the ticket's conversation then
// shows the call's record. The pages are held to relayed candidates, so the call connects
// only if those credentials work.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { adminToken, browser, database, freePort, grpcurl, shot, startServer, startTurn } from "./harness.mjs";

const PASSWORD = "correct horse battery";
const TURN_SECRET = "coturn-static-auth-secret-for-tests";

/**
 * In the page: every peer connection the console configures is held to relayed candidates
 * (TURN), and the configuration it was given is kept for the test.
 */
const RELAY_ONLY = () => {
  window.__ice = [];
  const set = RTCPeerConnection.prototype.setConfiguration;
  RTCPeerConnection.prototype.setConfiguration = function (config) {
    window.__ice.push(config);
    window.__pc = this;
    return set.call(this, { ...config, iceTransportPolicy: "relay" });
  };
};

/** The local candidate type of the pair the page's peer connection uses. */
async function selectedCandidate(page) {
  return page.evaluate(async () => {
    const stats = [...(await window.__pc.getStats()).values()];
    const pair = stats.find((s) => s.type === "candidate-pair" && s.state === "succeeded" && s.nominated);
    return stats.find((s) => s.id === pair?.localCandidateId)?.candidateType ?? "none";
  });
}

describe("calls in the console", () => {
  let db, port, server, turn, chrome, agent, customer, adminJwt, ticketId;

  before(async () => {
    db = database();
    port = await freePort();
    turn = await startTurn(TURN_SECRET);
    server = await startServer(db, port, { SUPPORT_ICE_URLS: turn.url, SUPPORT_TURN_SECRET: TURN_SECRET });
    adminJwt = await adminToken(db, port);
    const dept = await grpcurl(
      port,
      "support.v1.DepartmentService/CreateDepartment",
      { department: { name: "Phones", conversationMode: "CONVERSATION_MODE_CHAT" } },
      adminJwt,
    );
    const made = await grpcurl(
      port,
      "support.v1.AgentService/CreateAgent",
      { agent: { firstName: "Grace", lastName: "Hopper", email: "grace@support.example", departmentId: dept.department.id } },
      adminJwt,
    );
    await grpcurl(port, "support.v1.AuthService/SetAgentPassword", { agentId: made.agent.id, password: PASSWORD }, adminJwt);
    const me = await grpcurl(port, "support.v1.AuthService/Register", {
      firstName: "Ada",
      lastName: "Lovelace",
      email: "ada@example.com",
      password: PASSWORD,
    });
    const ticket = await grpcurl(
      port,
      "support.v1.TicketService/CreateTicket",
      {
        customerId: me.customerId,
        departmentId: dept.department.id,
        category: "TICKET_CATEGORY_OTHER",
        subject: "Please call me",
        description: "It is easier to explain by phone.",
        severity: "SEVERITY_MINOR",
        impact: 1,
      },
      adminJwt,
    );
    ticketId = ticket.ticket.id;
    chrome = await browser();
    agent = await (await chrome.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    customer = await (await chrome.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    for (const page of [agent, customer]) await page.addInitScript(RELAY_ONLY);
    for (const [page, email] of [
      [agent, "grace@support.example"],
      [customer, "ada@example.com"],
    ]) {
      await page.goto(server.url);
      await page.getByLabel("Email").fill(email);
      await page.getByLabel("Password").fill(PASSWORD);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("button", { name: "Sign out" }).waitFor();
      await page.goto(`${server.url}#/ticket/${ticketId}`);
      await page.getByRole("heading", { name: /Please call me/ }).waitFor();
    }
  });

  after(async () => {
    await chrome?.close();
    await server?.stop();
    turn?.stop();
  });

  test("typing: the agent sees the customer typing, with no message sent", async () => {
    await customer.getByLabel("Message").pressSequentially("Hello, are you", { delay: 20 });
    await agent.getByText("The customer is typing…").waitFor({ timeout: 5000 });
    await customer.getByLabel("Message").fill("");
  });

  test("read ticks: the agent's reply turns read once the customer's page shows it", async () => {
    await agent.getByLabel("Message").fill("I will call you in a minute.");
    await agent.getByRole("button", { name: "Send" }).click();
    await customer.getByText("I will call you in a minute.").waitFor({ timeout: 5000 });
    const tick = agent.locator(".message", { hasText: "I will call you in a minute." }).locator(".tick");
    await agent.locator('.message .tick[data-status="read"]').waitFor({ timeout: 10_000 });
    assert.match(await tick.innerText(), /✓✓ read/);
  });

  test("the agent calls, the customer accepts, both connect, and the record shows the duration", async () => {
    assert.equal(await customer.getByRole("button", { name: /^Call/ }).count(), 0, "this department takes no customer calls");
    await agent.getByRole("button", { name: "Call the customer" }).click();
    const ringing = customer.getByRole("alertdialog", { name: "Incoming call" });
    await ringing.waitFor({ timeout: 10_000 });
    assert.match(await ringing.innerText(), /Incoming call from Grace Hopper/);
    await shot(customer, "customer-call-ringing");
    await ringing.getByRole("button", { name: "Accept" }).click();

    await agent.locator('.call[data-connection="connected"]').waitFor({ timeout: 20_000 });
    await customer.locator('.call[data-connection="connected"]').waitFor({ timeout: 20_000 });
    // Audio flows: the remote track arrived on both sides, relayed by the TURN server with
    // each side's own credentials from GetIceServers.
    for (const [page, who] of [
      [agent, /^\d+:agent\.\d+$/],
      [customer, /^\d+:customer\.\d+$/],
    ]) {
      const tracks = await page.evaluate(() => document.querySelector(".call audio")?.srcObject?.getAudioTracks().length ?? 0);
      assert.equal(tracks, 1);
      const [given] = await page.evaluate(() => window.__ice.map((c) => c.iceServers));
      assert.deepEqual(given.map((s) => s.urls), [[turn.url]]);
      assert.match(given[0].username, who);
      assert.equal(await selectedCandidate(page), "relay");
    }
    await shot(agent, "agent-in-call");
    await customer.getByRole("button", { name: "Mute" }).click();
    assert.equal(await customer.getByRole("button", { name: "Unmute" }).getAttribute("aria-pressed"), "true");

    await new Promise((r) => setTimeout(r, 1500));
    await agent.getByRole("button", { name: "Hang up" }).click();
    for (const page of [agent, customer]) {
      await page.getByRole("button", { name: /^Call/ }).or(page.locator('.call[data-connection="ended"]')).first().waitFor({ timeout: 10_000 });
      const record = page.locator(".message", { hasText: "Call from Grace Hopper (agent) to Ada Lovelace (customer): ACCEPTED" });
      await record.waitFor({ timeout: 10_000 });
      assert.match(await record.innerText(), /lasted 0:0[1-9]\./, "the record shows the talk time");
    }
    const listed = await grpcurl(port, "support.v1.CallService/ListCalls", { ticketId }, adminJwt);
    assert.equal(listed.calls[0].outcome, "CALL_OUTCOME_ACCEPTED");
    assert.ok(listed.calls[0].durationSeconds >= 1, JSON.stringify(listed.calls[0]));
  });

  test("a call rings on any page: the customer answers it from the banner on her ticket list, then declines", async () => {
    await customer.goto(`${server.url}#/tickets`);
    await customer.getByRole("heading", { name: "My tickets" }).waitFor();
    await customer.locator('#ringer[data-state="live"]').waitFor({ state: "attached", timeout: 10_000 });
    await agent.getByRole("button", { name: "Call the customer" }).click();
    const banner = customer.getByRole("alert", { name: "Incoming calls" });
    await banner.getByText(`Grace Hopper is calling about ticket #${ticketId}.`).waitFor({ timeout: 10_000 });
    await shot(customer, "customer-call-ringing-on-another-page");
    await banner.getByRole("link", { name: "Answer" }).click();
    const ringing = customer.getByRole("alertdialog", { name: "Incoming call" });
    await ringing.waitFor({ timeout: 10_000 });
    assert.equal(await banner.isVisible(), false, "on the ticket's own page its panel rings, not the banner");
    await ringing.getByRole("button", { name: "Decline" }).click();
    await agent.getByRole("button", { name: "Call the customer" }).waitFor({ timeout: 10_000 });
    await customer.goto(`${server.url}#/tickets`);
    await customer.getByRole("heading", { name: "My tickets" }).waitFor();
    assert.equal(await banner.isVisible(), false, "a declined call rings no more");
    const listed = await grpcurl(port, "support.v1.CallService/ListCalls", { ticketId }, adminJwt);
    assert.equal(listed.calls[0].outcome, "CALL_OUTCOME_DECLINED");
  });
});
