// An admin's webhooks: the subscriptions, a new one (its signing secret shown once),
// pausing, resuming and deleting one, and one subscription's deliveries (#/webhooks/ID),
// each of which can be sent again.

import { all, describe, requestId, webhooks } from "../api";
import { allDepartments } from "../directory";
import { field, fill, h, select, toast } from "../dom";
import { DELIVERY, KIND, idArg, options, when } from "../format";
import type { QueueEventKind } from "../gen/support/v1/ticket_service_pb";
import type { Webhook } from "../gen/support/v1/webhook_service_pb";
import { form, listTable } from "./admin";

/** The kinds' checkboxes are named `kind-N`: a form's values keep one value per name. */
const KIND_FIELD = "kind-";

export async function adminWebhooks(main: HTMLElement, args: string[]): Promise<void> {
  const [list, depts] = await Promise.all([
    all(async (pageToken) => {
      const r = await webhooks.listWebhooks({ pageSize: 100, pageToken });
      return { items: r.webhooks, next: r.nextPageToken };
    }, 500),
    allDepartments(),
  ]);
  const deptName = new Map(depts.map((d) => [d.id, d.name]));
  const reload = (message: string) => void adminWebhooks(main, args).then(() => toast(message));
  const rows = list.map((w) => [
    String(w.id),
    w.url,
    w.eventKinds.length ? w.eventKinds.map((k) => KIND[k]).join(", ") : "All",
    w.departmentId ? (deptName.get(w.departmentId) ?? `#${w.departmentId}`) : "All",
    w.active ? "active" : w.disabledReason ? `disabled: ${w.disabledReason}` : "paused",
    String(w.cursor),
    actions(w, reload),
  ]);
  // Shown once, after a subscription is created: the response is the only place it is.
  const secret = h("div", { role: "status" });
  let created: { webhook?: Webhook; secret: string } | null = null;
  const kinds = options(KIND).map(([k, label]) =>
    h("label", { class: "check" }, h("input", { type: "checkbox", name: `${KIND_FIELD}${k}` }), ` ${label}`),
  );
  const deptOptions: [string, string][] = [["0", "All departments"], ...depts.map((d): [string, string] => [String(d.id), d.name])];
  const deliveries = args[0] ? await deliveriesOf(idArg(args[0], "webhook"), list, reload) : null;
  fill(
    main,
    h("h1", {}, "Webhooks"),
    listTable("Subscriptions", ["Id", "URL", "Events", "Department", "State", "Delivered through", "Actions"], rows),
    deliveries,
    secret,
    form(
      "New webhook",
      [
        field("URL", h("input", { name: "url", type: "url", required: true, maxlength: 2000, placeholder: "https://example.com/hooks/support" })),
        field("Department", select("department", deptOptions)),
        h("fieldset", {}, h("legend", {}, "Events (none ticked: every kind)"), kinds),
      ],
      "Create webhook",
      async (v) => {
        const eventKinds = Object.keys(v)
          .filter((name) => name.startsWith(KIND_FIELD))
          .map((name) => Number(name.slice(KIND_FIELD.length)) as QueueEventKind);
        created = await webhooks.createWebhook({
          webhook: { url: v.url, departmentId: BigInt(v.department || "0"), eventKinds, active: true },
          requestId: requestId(),
        });
      },
      () => {
        const made = created;
        void adminWebhooks(main, args).then(() => {
          if (!made) return;
          toast("Webhook created.");
          const status = main.querySelector('[role="status"]');
          if (status) fill(status, shownOnce(made.webhook?.url ?? "", made.secret));
        });
      },
    ),
  );
}

/** The signing secret, with how to use it, for the one time it is shown. */
function shownOnce(url: string, secret: string): HTMLElement {
  return h(
    "section",
    { class: "card", "aria-labelledby": "secret-title" },
    h("h2", { id: "secret-title" }, "Signing secret"),
    h("p", {}, `Deliveries to ${url} are signed with this secret (Standard Webhooks). Copy it now: it is not shown again.`),
    h("code", { class: "secret" }, secret),
  );
}

/** A subscription's buttons: its deliveries, pause or resume, delete. */
function actions(w: Webhook, reload: (message: string) => void): HTMLElement {
  const pause = h("button", { type: "button" }, w.active ? "Pause" : "Resume");
  pause.setAttribute("aria-label", `${w.active ? "Pause" : "Resume"} webhook ${w.id}`);
  pause.addEventListener("click", async () => {
    try {
      await webhooks.updateWebhook({ webhook: { id: w.id, active: !w.active, etag: w.etag }, updateMask: { paths: ["active"] } });
      reload(w.active ? "Webhook paused: events wait in the log until it is resumed." : "Webhook resumed where it stopped.");
    } catch (e) {
      toast(describe(e));
    }
  });
  const remove = h("button", { type: "button", class: "danger" }, "Delete");
  remove.setAttribute("aria-label", `Delete webhook ${w.id}`);
  remove.addEventListener("click", async () => {
    if (!confirm(`Delete the webhook to ${w.url} and its delivery records?`)) return;
    try {
      await webhooks.deleteWebhook({ id: w.id });
      if (location.hash === `#/webhooks/${w.id}`) {
        // Its deliveries were shown: leaving them draws the page again.
        location.hash = "#/webhooks";
        toast("Webhook deleted.");
      } else {
        reload("Webhook deleted.");
      }
    } catch (e) {
      toast(describe(e));
    }
  });
  const open = h("a", { href: `#/webhooks/${w.id}`, "aria-label": `Deliveries of webhook ${w.id}` }, "Deliveries");
  return h("span", { class: "actions" }, open, pause, remove);
}

/** The latest deliveries to the subscription `id`, newest first, each with "Deliver again". */
async function deliveriesOf(id: bigint, list: Webhook[], reload: (message: string) => void): Promise<HTMLElement> {
  const hook = list.find((w) => w.id === id);
  const r = await webhooks.listWebhookDeliveries({ webhookId: id, pageSize: 50 });
  const again = (sequence: bigint) => {
    const b = h("button", { type: "button" }, "Deliver again");
    b.setAttribute("aria-label", `Deliver again: event ${sequence}`);
    b.addEventListener("click", async () => {
      b.disabled = true;
      try {
        const d = (await webhooks.redeliverWebhookEvent({ webhookId: id, sequence })).delivery;
        const outcome = d ? `${DELIVERY[d.state]}${d.lastStatusCode ? ` (HTTP ${d.lastStatusCode})` : ""}${d.lastError ? `: ${d.lastError}` : ""}` : "sent";
        reload(`Event ${sequence} delivered again: ${outcome}.`);
      } catch (e) {
        toast(describe(e));
        b.disabled = false;
      }
    });
    return b;
  };
  const rows = r.deliveries.map((d) => [
    String(d.sequence),
    `${DELIVERY[d.state]}${d.manual ? " (by hand)" : ""}`,
    String(d.attempts),
    d.lastStatusCode ? String(d.lastStatusCode) : "—",
    d.lastError || (d.nextAttemptTime ? `next try ${when(d.nextAttemptTime)}` : ""),
    when(d.updateTime),
    again(d.sequence),
  ]);
  return h(
    "section",
    { "aria-labelledby": "deliveries-title" },
    h("h2", { id: "deliveries-title" }, `Deliveries to ${hook?.url ?? `webhook ${id}`}`),
    rows.length
      ? listTable("The latest 50, newest first", ["Event", "State", "Attempts", "Last HTTP status", "Last error", "Last attempt", ""], rows)
      : h("p", {}, "Nothing delivered yet: the next event that matches goes out within a second."),
  );
}
