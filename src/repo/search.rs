//! Full-text search over tickets: MariaDB's InnoDB FULLTEXT or SQLite's FTS5 behind one
//! interface. The index, `ticket_search`, has a row per ticket with three texts: `title`
//! (subject and description), `public_text` (the public messages) and `internal_text`
//! (internal notes, searched for staff only). It is written in the same transaction as
//! the ticket or message it holds, so a search never misses a committed write.
//!
//! Only the match and its score differ between the backends; the caller's scope and the
//! filters are the same SQL on `tickets`, with bound values. The query's words come from
//! [`crate::domain::search::terms`] (letters and digits only), so no operator of either
//! engine's syntax can reach it.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, Statement, Value};

use super::entity::ticket as row;
use super::ticket_rows::to_domain;
use super::{Repo, paging};
use crate::domain::access::TicketScope;
use crate::domain::search::{MAX_TERM_CHARS, Snippet, snippet};
use crate::domain::{Level, Page, PageRequest, Status, Ticket, Visibility};
use crate::error::AppResult;

/// How deep results go: pages end after this many.
pub const MAX_RESULTS: u64 = 1_000;
/// Characters of each text read for a result's snippet: this many around the first place
/// the query's first word occurs (a text can hold a ticket's whole conversation).
const SNIPPET_SOURCE_CHARS: u32 = 600;
/// Of those, how many come before that place.
const SNIPPET_SOURCE_LEAD: u32 = 200;

/// A search: its words and filters.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketSearch {
    /// The words, each matching a word or its start (see `domain::search::terms`).
    pub terms: Vec<String>,
    /// Only these statuses (empty: any).
    pub statuses: Vec<Status>,
    /// Only this department's.
    pub department_id: Option<i64>,
    /// Only this level.
    pub level: Option<Level>,
    /// Created at or after.
    pub created_after: Option<DateTime<Utc>>,
    /// Created before.
    pub created_before: Option<DateTime<Utc>>,
}

/// One matching ticket.
#[derive(Debug, Clone)]
pub struct SearchHit {
    /// The ticket.
    pub ticket: Ticket,
    /// Where its words matched.
    pub snippet: Snippet,
    /// Higher is better, within one search.
    pub relevance: f64,
}

/// The index's key column on each backend (FTS5 tables key rows by `rowid`).
fn key(backend: DatabaseBackend) -> &'static str {
    if backend == DatabaseBackend::MySql { "ticket_id" } else { "rowid" }
}

async fn run(db: &impl ConnectionTrait, sql: String, values: Vec<Value>) -> AppResult<()> {
    db.execute_raw(Statement::from_sql_and_values(db.get_database_backend(), sql, values)).await?;
    Ok(())
}

/// Indexes a new ticket.
pub(crate) async fn index_ticket(
    db: &impl ConnectionTrait,
    id: i64,
    subject: &str,
    description: &str,
) -> AppResult<()> {
    let key = key(db.get_database_backend());
    let sql = format!("INSERT INTO ticket_search ({key}, title, public_text, internal_text) VALUES (?, ?, '', '')");
    run(db, sql, vec![id.into(), format!("{subject}\n{description}").into()]).await
}

/// Re-indexes a ticket's subject and description.
pub(crate) async fn retitle(db: &impl ConnectionTrait, id: i64, subject: &str, description: &str) -> AppResult<()> {
    let key = key(db.get_database_backend());
    let sql = format!("UPDATE ticket_search SET title = ? WHERE {key} = ?");
    run(db, sql, vec![format!("{subject}\n{description}").into(), id.into()]).await
}

/// Adds a message's text to its ticket's public or internal text.
pub(crate) async fn index_message(
    db: &impl ConnectionTrait,
    ticket_id: i64,
    visibility: Visibility,
    body: &str,
) -> AppResult<()> {
    let backend = db.get_database_backend();
    let column = match visibility {
        Visibility::Public => "public_text",
        Visibility::Internal => "internal_text",
    };
    let appended = if backend == DatabaseBackend::MySql {
        format!("CONCAT({column}, ?, '\\n')")
    } else {
        format!("{column} || ? || char(10)")
    };
    let sql = format!("UPDATE ticket_search SET {column} = {appended} WHERE {} = ?", key(backend));
    run(db, sql, vec![body.into(), ticket_id.into()]).await
}

impl Repo {
    /// The tickets in `scope` matching `search`, most relevant first, a page at a time
    /// (offsets in the page token, at most [`MAX_RESULTS`] deep). Customers' searches
    /// leave internal notes out.
    pub async fn search_tickets(
        &self,
        search: &TicketSearch,
        page: &PageRequest,
        scope: &TicketScope,
    ) -> AppResult<Page<SearchHit>> {
        let fp = paging::fingerprint(&(search, scope));
        let offset = match &page.token {
            Some(t) => paging::int(&paging::decode(t, &fp)?, 0)?.clamp(0, MAX_RESULTS as i64) as u64,
            None => 0,
        };
        let size = page.size.min(MAX_RESULTS.saturating_sub(offset));
        let unindexable = search.terms.iter().any(|t| t.chars().count() > MAX_TERM_CHARS);
        if size == 0 || unindexable {
            return Ok(Page { items: Vec::new(), next_token: None });
        }
        let internal = !matches!(scope, TicketScope::Customer(_));
        let backend = self.db.get_database_backend();
        let (from, score, matcher, expression) = engine(backend, &search.terms, internal, Words::Every);
        let mut values: Vec<Value> = Vec::new();
        if backend == DatabaseBackend::MySql {
            values.push(expression.clone().into());
        }
        values.push(expression.into());
        let mut sql = format!("SELECT t.id, {score} AS score FROM {from} WHERE {matcher}");
        filters(&mut sql, &mut values, search, scope);
        sql.push_str(" ORDER BY score DESC, t.id DESC LIMIT ? OFFSET ?");
        values.push(((size + 1) as i64).into());
        values.push((offset as i64).into());
        let rows = self.db.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
        let mut hits: Vec<(i64, f64)> = Vec::with_capacity(rows.len());
        for r in rows {
            hits.push((r.try_get_by_index::<i64>(0)?, r.try_get_by_index::<f64>(1)?));
        }
        let more = hits.len() as u64 > size;
        hits.truncate(size as usize);
        let next = offset + hits.len() as u64;
        let next_token = (more && next < MAX_RESULTS).then(|| paging::encode(vec![(next as i64).into()], &fp));
        let ids: Vec<i64> = hits.iter().map(|h| h.0).collect();
        let mut tickets: std::collections::HashMap<i64, row::Model> = row::Entity::find()
            .filter(sea_orm::ColumnTrait::is_in(&row::Column::Id, ids.iter().copied()))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| (m.id, m))
            .collect();
        let mut texts = self.search_texts(&ids, internal, &search.terms[0]).await?;
        let mut items = Vec::with_capacity(hits.len());
        for (id, relevance) in hits {
            let Some(m) = tickets.remove(&id) else { continue };
            let sources = texts.remove(&id).unwrap_or_default();
            let sources: Vec<&str> = sources.iter().map(String::as_str).collect();
            items.push(SearchHit { ticket: to_domain(m)?, snippet: snippet(&sources, &search.terms), relevance });
        }
        Ok(Page { items, next_token })
    }

    /// The resolved or closed tickets in `scope` most similar to `terms` (any of them, in
    /// subjects, descriptions and public messages), best first, at most `limit`, without
    /// `except`: (ticket id, similarity).
    pub(crate) async fn similar_resolved(
        &self,
        terms: &[String],
        except: i64,
        scope: &TicketScope,
        limit: u64,
    ) -> AppResult<Vec<(i64, f64)>> {
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let backend = self.db.get_database_backend();
        let (from, score, matcher, expression) = engine(backend, terms, false, Words::Any);
        let mut values: Vec<Value> = Vec::new();
        if backend == DatabaseBackend::MySql {
            values.push(expression.clone().into());
        }
        values.push(expression.into());
        let mut sql = format!("SELECT t.id, {score} AS score FROM {from} WHERE {matcher} AND t.id <> ?");
        values.push(except.into());
        let search = TicketSearch {
            terms: terms.to_vec(),
            statuses: vec![Status::Resolved, Status::Closed],
            department_id: None,
            level: None,
            created_after: None,
            created_before: None,
        };
        filters(&mut sql, &mut values, &search, scope);
        sql.push_str(" ORDER BY score DESC, t.id DESC LIMIT ?");
        values.push((limit as i64).into());
        let rows = self.db.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push((r.try_get_by_index::<i64>(0)?, r.try_get_by_index::<f64>(1)?));
        }
        Ok(out)
    }

    /// The indexed texts of `ids` (title, public messages and, if `internal`, internal
    /// notes), each cut to [`SNIPPET_SOURCE_CHARS`] around the first place `word` occurs
    /// in it (its start if nowhere), so a snippet never reads a whole conversation.
    async fn search_texts(
        &self,
        ids: &[i64],
        internal: bool,
        word: &str,
    ) -> AppResult<std::collections::HashMap<i64, Vec<String>>> {
        let mut out = std::collections::HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let backend = self.db.get_database_backend();
        // MySQL's LOCATE follows the column's case-insensitive collation; SQLite's instr
        // does not, so it looks in the lower-cased text (the word is lower-case).
        let cut = |c: &str| match backend {
            DatabaseBackend::MySql => {
                format!("SUBSTRING({c}, GREATEST(1, LOCATE(?, {c}) - {SNIPPET_SOURCE_LEAD}), {SNIPPET_SOURCE_CHARS})")
            }
            _ => format!("substr({c}, max(1, instr(lower({c}), ?) - {SNIPPET_SOURCE_LEAD}), {SNIPPET_SOURCE_CHARS})"),
        };
        let columns = if internal {
            format!("{}, {}, {}", cut("title"), cut("public_text"), cut("internal_text"))
        } else {
            format!("{}, {}", cut("title"), cut("public_text"))
        };
        let marks = vec!["?"; ids.len()].join(", ");
        let key = key(backend);
        let sql = format!("SELECT {key}, {columns} FROM ticket_search WHERE {key} IN ({marks})");
        let n = if internal { 3 } else { 2 };
        let mut values: Vec<Value> = std::iter::repeat_n(Value::from(word), n).collect();
        values.extend(ids.iter().map(|&id| Value::from(id)));
        for r in self.db.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await? {
            let id = r.try_get_by_index::<i64>(0)?;
            let mut texts = Vec::with_capacity(n);
            for i in 1..=n {
                texts.push(r.try_get_by_index::<String>(i)?);
            }
            out.insert(id, texts);
        }
        Ok(out)
    }
}

/// Whether a match needs every word of a search or any of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Words {
    /// A search: every word.
    Every,
    /// Similar texts: any word, the more the better.
    Any,
}

/// The engine's part of the query: the join, the score, the match and its expression.
fn engine(
    backend: DatabaseBackend,
    terms: &[String],
    internal: bool,
    words: Words,
) -> (&'static str, String, String, String) {
    if backend == DatabaseBackend::MySql {
        let columns = if internal { "s.title, s.public_text, s.internal_text" } else { "s.title, s.public_text" };
        let against = format!("MATCH({columns}) AGAINST (? IN BOOLEAN MODE)");
        // Every word required (+) or any word, as a word or a word's start (*).
        let required = if words == Words::Every { "+" } else { "" };
        let expression = terms.iter().map(|t| format!("{required}{t}*")).collect::<Vec<_>>().join(" ");
        (
            "ticket_search s JOIN tickets t ON t.id = s.ticket_id",
            format!("CAST({against} AS DOUBLE)"),
            against,
            expression,
        )
    } else {
        // Each word quoted (it holds letters and digits only) and a prefix; all of them.
        let join = if words == Words::Every { " AND " } else { " OR " };
        let all = terms.iter().map(|t| format!("\"{t}\"*")).collect::<Vec<_>>().join(join);
        let expression = if internal { all } else { format!("{{title public_text}} : ({all})") };
        // bm25 is lower for better matches.
        (
            "ticket_search JOIN tickets t ON t.id = ticket_search.rowid",
            "-bm25(ticket_search)".into(),
            "ticket_search MATCH ?".into(),
            expression,
        )
    }
}

/// The caller's scope and the filters, as conditions on `t` (tickets).
fn filters(sql: &mut String, values: &mut Vec<Value>, search: &TicketSearch, scope: &TicketScope) {
    match *scope {
        TicketScope::All => {}
        TicketScope::Customer(c) => {
            sql.push_str(" AND t.customer_id = ?");
            values.push(c.into());
        }
        TicketScope::Agent { agent_id, department_id } => {
            sql.push_str(" AND (t.department_id = ? OR t.assigned_agent_id = ?)");
            values.push(department_id.into());
            values.push(agent_id.into());
        }
    }
    if !search.statuses.is_empty() {
        let marks = vec!["?"; search.statuses.len()].join(", ");
        sql.push_str(&format!(" AND t.status IN ({marks})"));
        values.extend(search.statuses.iter().map(|s| Value::from(s.as_str())));
    }
    if let Some(d) = search.department_id {
        sql.push_str(" AND t.department_id = ?");
        values.push(d.into());
    }
    if let Some(l) = search.level {
        sql.push_str(" AND t.priority_level = ?");
        values.push(l.as_str().into());
    }
    if let Some(t) = search.created_after {
        sql.push_str(" AND t.created_at >= ?");
        values.push(t.into());
    }
    if let Some(t) = search.created_before {
        sql.push_str(" AND t.created_at < ?");
        values.push(t.into());
    }
}
