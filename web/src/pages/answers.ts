// Answers to reuse in the agent's reply box: the department's quick replies, filled in for
// the ticket (DraftReply), and suggestions from the first replies that resolved similar
// tickets (SuggestReplies). Either becomes a draft in the message box, to edit and send.

import { describe, replies } from "../api";
import { field, h, select } from "../dom";
import type { Ticket } from "../gen/support/v1/common_pb";

/** The quick-reply picker and the suggestions for `t`, writing drafts into `box`. */
export async function answers(t: Ticket, box: HTMLTextAreaElement, errors: HTMLElement): Promise<HTMLElement> {
  const put = (text: string) => {
    box.value = text;
    box.focus();
  };
  const [saved, suggested] = await Promise.all([
    replies.listQuickReplies({ departmentId: t.departmentId, pageSize: 500 }).catch(() => null),
    replies.suggestReplies({ ticketId: t.id }).catch(() => null),
  ]);
  const parts: HTMLElement[] = [];
  if (saved && saved.quickReplies.length) {
    const picker = select("quick", saved.quickReplies.map((q) => [String(q.id), q.title]));
    const insert = h("button", { type: "button" }, "Insert");
    insert.addEventListener("click", async () => {
      try {
        put((await replies.draftReply({ ticketId: t.id, quickReplyId: BigInt(picker.value) })).body);
      } catch (e) {
        errors.textContent = describe(e);
      }
    });
    parts.push(h("div", { class: "inline quick" }, field("Quick reply", picker), insert));
  }
  if (suggested && suggested.suggestions.length) {
    parts.push(
      h(
        "details",
        { class: "suggestions" },
        h("summary", {}, `Suggested replies (${suggested.suggestions.length})`),
        h(
          "ol",
          { "aria-label": "Suggested replies" },
          suggested.suggestions.map((s) =>
            h(
              "li",
              {},
              h("p", { class: "body" }, s.body),
              h(
                "p",
                { class: "hint" },
                `First reply on ${s.firstReplyCount} similar resolved ticket${s.firstReplyCount === 1 ? "" : "s"}; ` +
                  `${s.resolvedWithoutFollowUpCount} needed no further customer message.`,
              ),
              h("button", { type: "button", onclick: () => put(s.body) }, "Use this reply"),
            ),
          ),
        ),
      ),
    );
  }
  return h("div", { class: "answers" }, parts);
}
