// The browser tests' real parts: the service's binary on a free port with its own SQLite
// file, grpcurl as an independent client, and Debian's Chromium through playwright-core.

import { execFile, spawn } from "node:child_process";
import { mkdtempSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, "../..");
const target = process.env.CARGO_TARGET_DIR ? resolve(root, process.env.CARGO_TARGET_DIR) : join(root, "target");
export const BIN = process.env.SUPPORT_BIN ?? join(target, "debug", "support-service");
const SECRET = "c0nsole-tests-Zq8rT4vW9xY2kL7mN3pB6cD1fG5hJ0";
export const SCREENSHOTS = join(root, "docs", "screenshots");
mkdirSync(SCREENSHOTS, { recursive: true });
const run = promisify(execFile);

export async function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
    s.on("error", fail);
  });
}

/** A fresh database file. */
export function database() {
  const dir = mkdtempSync(join(tmpdir(), "support-console-"));
  return `sqlite://${join(dir, "support.db")}?mode=rwc`;
}

/** The service's environment for `db` on `port`. */
export function env(db, port, extra = {}) {
  return {
    ...process.env,
    DATABASE_URL: db,
    SUPPORT_LISTEN: `127.0.0.1:${port}`,
    SUPPORT_ADMIN_LISTEN: "off",
    SUPPORT_AUTH_SECRET: SECRET,
    SUPPORT_LOG_FORMAT: "json",
    SUPPORT_RATE_LIMIT_PER_SECOND: "0",
    SUPPORT_SHUTDOWN_GRACE_MS: "1000",
    RUST_LOG: "warn,support_service=info",
    ...extra,
  };
}

/** A JSON log line at WARN or ERROR. */
const ALARM = /"level":"(WARN|ERROR)"/;

/**
 * The service running on `db`; `stop()` sends SIGTERM and waits. Its warnings and errors
 * go to the tests' stderr as they come (the test runner shows them beside a failure).
 */
export async function startServer(db, port, extra = {}) {
  const child = spawn(BIN, [], { env: env(db, port, extra), stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  const ready = new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`the service did not get ready in 60 s:\n${log}`)), 60_000);
    const read = (chunk) => {
      const start = log.lastIndexOf("\n") + 1;
      log += chunk;
      const end = log.lastIndexOf("\n");
      if (end >= start) {
        for (const line of log.slice(start, end).split("\n")) {
          if (ALARM.test(line)) process.stderr.write(`[service :${port}] ${line}\n`);
        }
      }
      if (log.includes('"message":"ready"')) {
        clearTimeout(timer);
        ok();
      }
    };
    child.stdout.on("data", read);
    child.stderr.on("data", read);
    child.on("exit", (code) => fail(new Error(`the service exited with ${code}:\n${log}`)));
  });
  await ready;
  return {
    port,
    url: `http://127.0.0.1:${port}/`,
    log: () => log,
    stop: () =>
      new Promise((ok) => {
        if (child.exitCode !== null) return ok();
        child.once("exit", () => ok());
        child.kill("SIGTERM");
      }),
  };
}

/** A command of the binary (token, seed-demo) against `db`. */
export async function command(db, port, args) {
  const { stdout } = await run(BIN, args, { env: env(db, port), maxBuffer: 1 << 24 });
  return stdout.trim();
}

export async function adminToken(db, port) {
  return command(db, port, ["token", "--role", "admin", "--subject", "console-tests"]);
}

/** One call through grpcurl (reflection), an independent client; the answer as JSON. */
export async function grpcurl(port, method, body, token) {
  const args = ["-plaintext", "-d", JSON.stringify(body)];
  if (token) args.push("-H", `authorization: Bearer ${token}`);
  args.push(`127.0.0.1:${port}`, method);
  const { stdout } = await run(process.env.GRPCURL ?? "grpcurl", args, { maxBuffer: 1 << 24 });
  return JSON.parse(stdout || "{}");
}

/** Waits for `locator`'s first match; if none shows, the error tells what the page shows. */
export async function shown(locator) {
  try {
    await locator.first().waitFor();
  } catch (e) {
    const text = await locator.page().locator("main").innerText().catch(() => "(unreadable)");
    e.message += `\nThe page shows:\n${text}`;
    throw e;
  }
}

const REFRESH = "/support.v1.AuthService/Refresh";
const inFlight = new WeakMap();

/** Counts `page`'s token refreshes on the way (for [`reloadSafely`]). */
export function trackRefreshes(page) {
  inFlight.set(page, 0);
  const count = (by) => (r) => r.url().endsWith(REFRESH) && inFlight.set(page, inFlight.get(page) + by);
  page.on("request", count(1));
  page.on("requestfinished", count(-1));
  page.on("requestfailed", count(-1));
}

/**
 * Reloads `page` (tracked by [`trackRefreshes`]) with no token refresh on the way: a
 * reload then would lose the rotated token, and presenting the spent one again would end
 * the tab's session (reuse detection). The old document sends nothing more (its `fetch`
 * never answers), the refreshes it sent finish and are kept, and then it reloads.
 */
export async function reloadSafely(page) {
  await page.evaluate(() => {
    window.fetch = () => new Promise(() => {});
  });
  while (inFlight.get(page) > 0) await page.waitForTimeout(20);
  // The last refresh's answer is stored by the page's own code, a moment after it arrived.
  await page.waitForTimeout(200);
  await page.reload();
}

/**
 * A TURN server (Debian's coturn) on loopback that checks TURN REST API credentials with
 * `secret`, relaying between loopback peers; `stop()` ends it.
 */
export async function startTurn(secret) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "support-turn-"));
  const child = spawn(
    process.env.TURNSERVER ?? "turnserver",
    [
      "-n",
      "--listening-ip=127.0.0.1",
      "--relay-ip=127.0.0.1",
      `--listening-port=${port}`,
      "--use-auth-secret",
      `--static-auth-secret=${secret}`,
      "--realm=support.test",
      "--allow-loopback-peers",
      "--no-cli",
      "--no-tls",
      "--no-dtls",
      `--userdb=${join(dir, "turndb")}`,
      `--pidfile=${join(dir, "turnserver.pid")}`,
      "--log-file=stdout",
      "--simple-log",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let log = "";
  await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`coturn did not start in 10 s:\n${log}`)), 10_000);
    child.stdout.on("data", (chunk) => {
      log += chunk;
      if (/Total General servers/.test(log)) {
        clearTimeout(timer);
        ok();
      }
    });
    child.on("exit", (code) => fail(new Error(`coturn exited (${code}):\n${log}`)));
  });
  return {
    url: `turn:127.0.0.1:${port}?transport=udp`,
    log: () => log,
    stop: () => child.kill("SIGTERM"),
  };
}

/** Debian's Chromium, headless, as the machine allows it. */
export async function browser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      // Calls: a fake microphone, allowed without a prompt.
      "--use-fake-device-for-media-stream",
      "--use-fake-ui-for-media-stream",
    ],
  });
}

/**
 * Records every byte the page's scripts receive from the service (each response's body as
 * one byte-preserving string), so a test can prove what never reached the browser.
 */
export const RECORD_RESPONSES = () => {
  const received = [];
  window.__received = received;
  const original = window.fetch.bind(window);
  window.fetch = async (...args) => {
    const response = await original(...args);
    if (!response.body) return response;
    const [mine, theirs] = response.body.tee();
    const index = received.push("") - 1;
    (async () => {
      const reader = mine.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        let text = "";
        for (const byte of value) text += String.fromCharCode(byte);
        received[index] += text;
      }
    })().catch(() => {});
    return new Response(theirs, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
};

export async function shot(page, name) {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
