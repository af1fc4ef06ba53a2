//! Answers to reuse: quick replies (saved texts with placeholders, filled for a ticket)
//! and suggestions ranked from the first replies of similar resolved tickets.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

/// The longest title, in characters.
pub const TITLE_MAX: usize = 100;
/// The longest body, in characters.
pub const BODY_MAX: usize = 5_000;
/// How many suggestions a ticket gets.
pub const SUGGESTIONS: usize = 3;

/// A department's saved answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuickReply {
    /// Id.
    pub id: i64,
    /// The department whose agents use it.
    pub department_id: i64,
    /// What agents pick it by.
    pub title: String,
    /// The text, with placeholders.
    pub body: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Version (the etag).
    pub version: i64,
}

/// A quick reply to save (validated).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NewQuickReply {
    /// Department.
    pub department_id: i64,
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
}

/// Changes to a quick reply (validated).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuickReplyPatch {
    /// A new title.
    pub title: Option<String>,
    /// A new body.
    pub body: Option<String>,
}

/// The values a draft's placeholders take.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DraftContext {
    /// `{customer.first_name}`.
    pub customer_first_name: String,
    /// `{customer.last_name}`.
    pub customer_last_name: String,
    /// `{agent.first_name}`: the agent drafting, else the ticket's agent, else empty.
    pub agent_first_name: String,
    /// `{agent.last_name}`.
    pub agent_last_name: String,
    /// `{ticket.id}`.
    pub ticket_id: i64,
    /// `{ticket.subject}`.
    pub ticket_subject: String,
    /// `{department.name}`.
    pub department_name: String,
}

/// Every placeholder a body may hold.
pub const PLACEHOLDERS: &[&str] = &[
    "customer.first_name",
    "customer.last_name",
    "agent.first_name",
    "agent.last_name",
    "ticket.id",
    "ticket.subject",
    "department.name",
];

impl DraftContext {
    fn value(&self, name: &str) -> String {
        match name {
            "customer.first_name" => self.customer_first_name.clone(),
            "customer.last_name" => self.customer_last_name.clone(),
            "agent.first_name" => self.agent_first_name.clone(),
            "agent.last_name" => self.agent_last_name.clone(),
            "ticket.id" => self.ticket_id.to_string(),
            "ticket.subject" => self.ticket_subject.clone(),
            "department.name" => self.department_name.clone(),
            _ => String::new(),
        }
    }
}

/// A piece of a body: text, or a placeholder's name.
enum Piece<'a> {
    Text(&'a str),
    Placeholder(&'a str),
}

/// The pieces of `body`, or why it is not a template: an unknown placeholder, a `{` that
/// is never closed, or a lone `}` (literal braces are written `{{` and `}}`).
fn pieces(body: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(at) = rest.find(['{', '}']) {
        out.push(Piece::Text(&rest[..at]));
        let tail = &rest[at..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push(Piece::Text(&tail[..1]));
            rest = &tail[2..];
            continue;
        }
        if tail.starts_with('}') {
            return Err("has a lone `}`: write `}}` for a literal brace".into());
        }
        let Some(end) = tail.find('}') else {
            return Err("has a `{` that is never closed: write `{{` for a literal brace".into());
        };
        let name = &tail[1..end];
        if !PLACEHOLDERS.contains(&name) {
            let name: String = name.chars().take(40).collect();
            return Err(format!(
                "has an unknown placeholder {{{name}}}; the known ones are {{{}}}",
                PLACEHOLDERS.join("}, {")
            ));
        }
        out.push(Piece::Placeholder(name));
        rest = &tail[end + 1..];
    }
    out.push(Piece::Text(rest));
    Ok(out)
}

/// A checked body: trimmed, 1 to [`BODY_MAX`] characters, every placeholder known.
pub fn body(value: &str) -> Result<String, String> {
    let body = super::validate::required_text(value, BODY_MAX)?;
    pieces(&body)?;
    Ok(body)
}

/// `body` with its placeholders filled from `context`. A body that is not a template (it
/// was checked when saved) is returned as it is.
pub fn fill(body: &str, context: &DraftContext) -> String {
    let Ok(pieces) = pieces(body) else { return body.to_owned() };
    let mut out = String::with_capacity(body.len());
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Placeholder(name) => out.push_str(&context.value(name)),
        }
    }
    out
}

/// The first agent reply of a resolved ticket similar to the one being answered.
#[derive(Debug, Clone, PartialEq)]
pub struct PastReply {
    /// The resolved ticket.
    pub ticket_id: i64,
    /// How similar that ticket is (higher is better).
    pub relevance: f64,
    /// The reply's text.
    pub body: String,
    /// Whether the customer wrote again after it.
    pub followed_up: bool,
}

/// A suggested reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    /// The text.
    pub body: String,
    /// The most similar ticket it answered.
    pub source_ticket_id: i64,
    /// How many of the similar tickets it was the first reply of.
    pub first_reply_count: u32,
    /// Of those, how many the customer never wrote again on.
    pub resolved_without_follow_up_count: u32,
    /// The summed similarity of its tickets.
    pub relevance: f64,
}

/// The best [`SUGGESTIONS`] of `past`: the same text (whitespace aside) is one suggestion,
/// ranked by the summed similarity of the tickets it answered, so a reply that resolved
/// many similar tickets comes before one that answered a single close one.
pub fn suggest(past: Vec<PastReply>) -> Vec<Suggestion> {
    let mut by_text: HashMap<String, (Suggestion, f64)> = HashMap::new();
    let mut order = Vec::new();
    for p in past {
        let key = p.body.split_whitespace().collect::<Vec<_>>().join(" ");
        let entry = by_text.entry(key.clone()).or_insert_with(|| {
            order.push(key);
            let s = Suggestion {
                body: p.body.clone(),
                source_ticket_id: p.ticket_id,
                first_reply_count: 0,
                resolved_without_follow_up_count: 0,
                relevance: 0.0,
            };
            (s, f64::MIN)
        });
        let (s, best) = entry;
        s.first_reply_count += 1;
        s.resolved_without_follow_up_count += u32::from(!p.followed_up);
        s.relevance += p.relevance;
        if p.relevance > *best {
            *best = p.relevance;
            s.source_ticket_id = p.ticket_id;
        }
    }
    let mut out: Vec<Suggestion> = order.into_iter().filter_map(|k| by_text.remove(&k)).map(|(s, _)| s).collect();
    out.sort_by(|a, b| {
        b.relevance
            .total_cmp(&a.relevance)
            .then(b.resolved_without_follow_up_count.cmp(&a.resolved_without_follow_up_count))
    });
    out.truncate(SUGGESTIONS);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_and_braces_escaped() {
        let context = DraftContext {
            customer_first_name: "Ann".into(),
            ticket_id: 42,
            department_name: "Billing".into(),
            ..Default::default()
        };
        let text = "Hi {customer.first_name}, ticket {ticket.id} is with {department.name} {{sic}}.";
        assert_eq!(body(text).as_deref(), Ok(text));
        assert_eq!(fill(text, &context), "Hi Ann, ticket 42 is with Billing {sic}.");
        assert_eq!(fill("{agent.first_name}!", &context), "!", "no agent: empty");
    }

    #[test]
    fn bad_templates_say_what_is_wrong() {
        assert!(body("Hi {customer.middle_name}").unwrap_err().contains("unknown placeholder {customer.middle_name}"));
        assert!(body("Hi {customer.first_name").unwrap_err().contains("never closed"));
        assert!(body("a } b").unwrap_err().contains("lone"));
        assert!(body("  ").unwrap_err().contains("empty"));
        assert!(body(&"x".repeat(BODY_MAX + 1)).is_err());
    }

    fn past(ticket_id: i64, relevance: f64, body: &str, followed_up: bool) -> PastReply {
        PastReply { ticket_id, relevance, body: body.into(), followed_up }
    }

    #[test]
    fn the_same_text_is_one_suggestion_counted_and_ranked_by_summed_similarity() {
        let all = suggest(vec![
            past(1, 5.0, "Please clear the cache.", false),
            past(2, 3.0, "Please  clear the cache.", true),
            past(3, 4.0, "Please   clear the cache.", false),
            past(4, 9.0, "We refunded you.", false),
            past(5, 1.0, "Restart it.", false),
            past(6, 0.5, "Call us.", false),
        ]);
        assert_eq!(all.len(), SUGGESTIONS);
        assert_eq!(all[0].body, "Please clear the cache.");
        assert_eq!((all[0].first_reply_count, all[0].resolved_without_follow_up_count), (3, 2));
        assert_eq!(all[0].source_ticket_id, 1, "the most similar ticket it answered");
        assert_eq!(all[1].body, "We refunded you.");
        assert_eq!(all[2].body, "Restart it.");
        assert!(suggest(Vec::new()).is_empty());
    }
}
