//! Statements whose text is built once. sea-query builds the same text for a statement
//! of the same shape on every call, and on the hottest reads that building was a large
//! part of the call (BENCHMARKS.md, issue 21): a ticket read by id cost GetTicket's
//! handler 46,000 instructions a call to build. A [`Prebuilt`] keeps the first call's
//! text and sends it with each later call's own values.

use std::sync::OnceLock;

use sea_orm::{DbBackend, Statement, StatementBuilder, Value};

/// One statement's text, built by the first call. Its `build` must give the same text
/// whatever the values (no value may add or drop a clause), and each call's `values` must
/// be the ones `build` binds, in the order of their placeholders: every use has a test
/// that compares it with a fresh build ([`Prebuilt::is_rebuilt_by`]).
pub(crate) struct Prebuilt(OnceLock<Statement>);

impl Prebuilt {
    pub(crate) const fn new() -> Self {
        Self(OnceLock::new())
    }

    /// The statement for `values`: the kept text, or `build`'s own statement when the text
    /// was kept for another backend or another number of values.
    pub(crate) fn bind<S: StatementBuilder>(
        &self,
        backend: DbBackend,
        values: Vec<Value>,
        build: impl FnOnce() -> S,
    ) -> Statement {
        let mut build = Some(build);
        let kept = self.0.get_or_init(|| backend.build(&(build.take().expect("called once"))()));
        let count = kept.values.as_ref().map_or(0, |v| v.0.len());
        match build {
            Some(build) if kept.db_backend != backend || count != values.len() => backend.build(&build()),
            _ => Statement::from_sql_and_values(backend, kept.sql.clone(), values),
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
