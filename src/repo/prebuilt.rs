//! Statements whose text is built once. sea-query builds the same text for a statement
//! of the same shape on every call, and on the hottest reads that building was a large
//! part of the call (BENCHMARKS.md, issue 21): a ticket read by id cost GetTicket's
//! handler 46,000 instructions a call to build. A [`Prebuilt`] keeps the first call's
//! text and sends it with each later call's own values.

use std::sync::OnceLock;

use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult, Statement, StatementBuilder, Value};

/// One statement's text, built by the first call. Its `build` must give the same text
/// whatever the values (no value may add or drop a clause), and each call's `values` must
/// be the ones `build` binds, in the order of their placeholders: every use has a test
/// that compares it with a fresh build ([`Prebuilt::is_rebuilt_by`]).
pub(crate) struct Prebuilt(OnceLock<Statement>);

impl Prebuilt {
    pub(crate) const fn new() -> Self {
        Self(OnceLock::new())
    }

    /// The first row `conn` returns for the statement with `values`.
    pub(crate) async fn one<S: StatementBuilder>(
        &self,
        conn: &impl ConnectionTrait,
        values: Vec<Value>,
        build: impl FnOnce() -> S,
    ) -> Result<Option<QueryResult>, DbErr> {
        conn.query_one_raw(self.bind(conn.get_database_backend(), values, build)).await
    }

    /// The statement for `values`: the kept text, or `build`'s own statement when none is
    /// kept yet (then it is kept), or it was kept for another backend or number of values.
    fn bind<S: StatementBuilder>(
        &self,
        backend: DbBackend,
        values: Vec<Value>,
        build: impl FnOnce() -> S,
    ) -> Statement {
        match self.0.get() {
            Some(kept)
                if kept.db_backend == backend && kept.values.as_ref().map_or(0, |v| v.0.len()) == values.len() =>
            {
                Statement::from_sql_and_values(backend, kept.sql.clone(), values)
            }
            _ => {
                let built = backend.build(&build());
                // Another call may have kept one meanwhile; both are the same text.
                let _ = self.0.set(built.clone());
                built
            }
        }
    }

    /// Whether [`Prebuilt::bind`] sends for `values` what `build` builds afresh, on both
    /// backends, whichever built the kept text (for the tests of each use).
    #[cfg(test)]
    pub(crate) fn is_rebuilt_by<S: StatementBuilder>(&self, values: Vec<Value>, build: impl Fn() -> S) -> bool {
        [DbBackend::MySql, DbBackend::Sqlite, DbBackend::MySql].into_iter().all(|backend| {
            let expected = backend.build(&build());
            self.bind(backend, values.clone(), &build) == expected
                && self.bind(backend, values.clone(), &build) == expected
        })
    }
}
