//! SearchTickets on both backends: the caller's scope inside the query (customers their own
//! tickets and no internal notes, agents their department's), relevance order on a
//! fixture with known answers, filters, paging, snippets, the index kept current by
//! updates and messages, and hostile queries answered with results or INVALID_ARGUMENT.

use support_service::domain::AgentRole;
use support_service::domain::access::Principal;
use support_service::pb::{self, ConversationMode, CustomerTier, SenderKind, Severity};
use tonic::Code;

use crate::helpers::{Clients, bad_fields, spawn_app};

fn query(q: &str) -> pb::SearchTicketsRequest {
    pb::SearchTicketsRequest { query: q.into(), ..Default::default() }
}

async fn search(c: &mut Clients, req: pb::SearchTicketsRequest) -> Vec<(i64, pb::TicketSearchResult)> {
    let r = c.tickets.search_tickets(req).await.expect("search").into_inner();
    r.results.into_iter().map(|h| (h.ticket.as_ref().expect("ticket").id, h)).collect()
}

async fn ids(c: &mut Clients, req: pb::SearchTicketsRequest) -> Vec<i64> {
    search(c, req).await.into_iter().map(|(id, _)| id).collect()
}

async fn open(c: &mut Clients, customer: i64, department: i64, subject: &str, description: &str) -> i64 {
    let mut req = Clients::ticket_request(customer, department, Severity::Minor, 1);
    req.subject = subject.into();
    req.description = description.into();
    c.tickets.create_ticket(req).await.expect("create").into_inner().ticket.expect("ticket").id
}

#[tokio::test]
async fn search_sees_only_the_callers_scope_and_customers_never_match_internal_notes() {
    let mut app = spawn_app().await;
    let d1 = app.department("Billing", ConversationMode::Chat).await.id;
    let d2 = app.department("Hardware", ConversationMode::Chat).await.id;
    let c1 = app.customer("one@example.com", CustomerTier::Free).await.id;
    let c2 = app.customer("two@example.com", CustomerTier::Free).await.id;
    let a1 = app.agent("a1@example.com", d1).await.id;
    let mine = open(&mut app, c1, d1, "Invoice missing", "Where is my invoice for March?").await;
    let theirs = open(&mut app, c2, d1, "Invoice wrong", "The invoice lists a zeppelin I never bought.").await;
    let elsewhere =
        open(&mut app, c2, d2, "Zeppelin broken", "The zeppelin invoice arrived, the zeppelin did not.").await;
    let note = pb::AddLogRequest {
        ticket_id: mine,
        sender_kind: SenderKind::Agent.into(),
        sender_id: a1,
        body: "Internal: customer flagged for a goodwill voucher".into(),
        visibility: pb::Visibility::Internal.into(),
        ..Default::default()
    };
    app.logs.add_log(note).await.expect("internal note");
    app.say(mine, SenderKind::Customer, c1, "Any news about the parcel?").await.expect("public message");

    let mut customer = app.as_(&Principal::customer(c1));
    assert_eq!(ids(&mut customer, query("invoice")).await, vec![mine], "only the customer's own ticket");
    assert!(ids(&mut customer, query("zeppelin")).await.is_empty(), "another customer's words find nothing");
    assert!(ids(&mut customer, query("goodwill voucher")).await.is_empty(), "internal notes are not searched");
    assert_eq!(ids(&mut customer, query("parcel")).await, vec![mine], "public messages are");

    let mut agent = app.as_(&Principal::agent(a1, AgentRole::Agent, d1));
    let mut seen = ids(&mut agent, query("invoice")).await;
    seen.sort();
    assert_eq!(seen, vec![mine, theirs], "the agent's department only");
    assert_eq!(ids(&mut agent, query("goodwill")).await, vec![mine], "staff search internal notes");

    let mut all = ids(&mut app, query("invoice")).await;
    all.sort();
    assert_eq!(all, vec![mine, theirs, elsewhere], "a service sees every ticket");
    assert_eq!(ids(&mut app, query("invoice zeppelin")).await.len(), 2, "every word must match");
    let only_d2 = pb::SearchTicketsRequest { department_id: d2, ..query("invoice") };
    assert_eq!(ids(&mut app, only_d2).await, vec![elsewhere]);
    let no_anonymous = app.anonymous().tickets.search_tickets(query("invoice")).await.unwrap_err();
    assert_eq!(no_anonymous.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn results_come_in_relevance_order_with_a_snippet_and_pages() {
    let mut app = spawn_app().await;
    let d = app.department("Support", ConversationMode::Chat).await.id;
    let c = app.customer("rel@example.com", CustomerTier::Free).await.id;
    // Known answers: the more a ticket is about refunds, the higher it ranks.
    let weak = open(&mut app, c, d, "Printer jam", "Paper jams daily. Also asked once about a refund.").await;
    let strong = open(&mut app, c, d, "Refund refund", "Refund please: the refund for order 7 never came.").await;
    let middle = open(&mut app, c, d, "Refund for order 9", "Still waiting for it.").await;
    for i in 0..5 {
        open(&mut app, c, d, &format!("Unrelated {i}"), "Nothing to see.").await;
    }
    let found = search(&mut app, query("refund")).await;
    let order: Vec<i64> = found.iter().map(|(id, _)| *id).collect();
    assert_eq!(order, vec![strong, middle, weak], "by relevance");
    assert!(found.windows(2).all(|w| w[0].1.relevance >= w[1].1.relevance));
    let (_, hit) = &found[2];
    assert!(hit.snippet.contains("refund"), "{}", hit.snippet);
    let marked: Vec<String> = hit
        .highlights
        .iter()
        .map(|r| hit.snippet.chars().skip(r.start as usize).take((r.end - r.start) as usize).collect())
        .collect();
    assert_eq!(marked, vec!["refund"], "{hit:?}");

    // Pages of one, in the same order, then the end.
    let mut paged = Vec::new();
    let mut token = String::new();
    loop {
        let req = pb::SearchTicketsRequest { page_size: 1, page_token: token, ..query("refund") };
        let r = app.tickets.search_tickets(req).await.expect("page").into_inner();
        paged.extend(r.results.iter().map(|h| h.ticket.as_ref().expect("ticket").id));
        token = r.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(paged, order);
    let other = pb::SearchTicketsRequest { page_size: 1, ..query("refund") };
    let first = app.tickets.search_tickets(other).await.expect("page").into_inner();
    let changed = pb::SearchTicketsRequest { page_size: 1, page_token: first.next_page_token, ..query("printer") };
    let err = app.tickets.search_tickets(changed).await.unwrap_err();
    assert_eq!(bad_fields(&err), vec!["page_token"], "a token from another query");
}

#[tokio::test]
async fn the_index_follows_edits_and_messages_and_filters_apply() {
    let mut app = spawn_app().await;
    let d = app.department("Support", ConversationMode::Chat).await.id;
    let c = app.customer("edit@example.com", CustomerTier::Free).await.id;
    let id = open(&mut app, c, d, "Sign-in spinner", "The login page reloads forever.").await;
    assert_eq!(ids(&mut app, query("reloads")).await, vec![id]);

    let t = app.get(id).await;
    let edited = pb::Ticket { id, subject: "Password reset loop".into(), etag: t.etag, ..Default::default() };
    let mask = prost_types::FieldMask { paths: vec!["subject".into()] };
    app.tickets.update_ticket(pb::UpdateTicketRequest { ticket: Some(edited), update_mask: Some(mask) }).await.unwrap();
    assert_eq!(ids(&mut app, query("password")).await, vec![id], "the new subject");
    assert!(ids(&mut app, query("spinner")).await.is_empty(), "the old subject is gone");
    assert_eq!(ids(&mut app, query("reloads")).await, vec![id], "the description stays");

    app.say(id, SenderKind::Customer, c, "Tried Firefox too, same reloading").await.unwrap();
    assert_eq!(ids(&mut app, query("firefox")).await, vec![id], "a message is searchable at once");
    assert_eq!(ids(&mut app, query("FIREF")).await, vec![id], "a word's start, any case");

    // A match deep in a long conversation still shows where it is (the snippet reads only
    // around it).
    for i in 0..12 {
        app.say(id, SenderKind::Customer, c, &format!("Still waiting, attempt {i}: {}", "nothing new. ".repeat(700)))
            .await
            .unwrap();
    }
    app.say(id, SenderKind::Customer, c, "Finally the Zanzibar proxy was the cause.").await.unwrap();
    let deep = search(&mut app, query("zanzibar")).await;
    assert_eq!(deep.len(), 1);
    assert!(deep[0].1.snippet.contains("Zanzibar proxy"), "{}", deep[0].1.snippet);

    let open_only = pb::SearchTicketsRequest { statuses: vec![pb::TicketStatus::Closed.into()], ..query("firefox") };
    assert!(ids(&mut app, open_only).await.is_empty());
    let now = prost_types::Timestamp { seconds: chrono::Utc::now().timestamp() + 3600, nanos: 0 };
    let later = pb::SearchTicketsRequest { created_after: Some(now), ..query("firefox") };
    assert!(ids(&mut app, later).await.is_empty());
    let before = pb::SearchTicketsRequest { created_before: Some(now), ..query("firefox") };
    assert_eq!(ids(&mut app, before).await, vec![id]);
}

#[tokio::test]
async fn hostile_queries_get_results_or_invalid_argument_never_internal() {
    let mut app = spawn_app().await;
    let d = app.department("Support", ConversationMode::Chat).await.id;
    let c = app.customer("hostile@example.com", CustomerTier::Free).await.id;
    let id = open(&mut app, c, d, "Quotes \"and\" stars", "Text with 'quotes', stars * and NEAR(x y).").await;
    let hostile = [
        "\"quotes",
        "quotes\"",
        "stars*",
        "*",
        "+quotes -stars",
        "quotes AND OR NOT stars",
        "NEAR(quotes stars)",
        "title:quotes",
        "{title public_text}: quotes",
        "quotes'; DROP TABLE tickets; --",
        "quotes) OR (1=1",
        "^quotes",
        "\\quotes\\",
        "quotes\u{0}",
        "@@@ quotes %%%",
        "ｑｕｏｔｅｓ",
    ];
    for q in hostile {
        match app.tickets.search_tickets(query(q)).await {
            Ok(r) => {
                let r = r.into_inner();
                assert!(r.results.iter().all(|h| h.ticket.as_ref().is_some_and(|t| t.id == id)), "{q:?}: {r:?}");
            }
            Err(e) => assert_eq!(e.code(), Code::InvalidArgument, "{q:?}: {e:?}"),
        }
    }
    assert_eq!(ids(&mut app, query("quotes'; --")).await, vec![id], "words, not SQL");
    assert!(ids(&mut app, query("quotes'; DROP TABLE tickets; --")).await.is_empty(), "every word must match");
    assert_eq!(app.get(id).await.id, id, "the table is still there");
    for (q, why) in [("", "required"), ("   ", "required"), ("* + - \"\"", "no word"), ("a b c", "no word")] {
        let e = app.tickets.search_tickets(query(q)).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{q:?}");
        assert_eq!(bad_fields(&e), vec!["query"], "{q:?}");
        assert!(e.message().contains(why), "{q:?}: {}", e.message());
    }
    let long = "quotes ".repeat(200);
    let e = app.tickets.search_tickets(query(&long)).await.unwrap_err();
    assert_eq!(bad_fields(&e), vec!["query"]);
    assert!(e.message().contains("at most 1024"), "{}", e.message());
    let under = "x".repeat(1000) + " quotes";
    assert_eq!(ids(&mut app, query(&under)).await, Vec::<i64>::new(), "1 KB of text is searched (one long word)");
    let bad = pb::SearchTicketsRequest { page_size: -1, department_id: -4, ..query("quotes") };
    let mut fields = bad_fields(&app.tickets.search_tickets(bad).await.unwrap_err());
    fields.sort();
    assert_eq!(fields, vec!["department_id", "page_size"]);
}
