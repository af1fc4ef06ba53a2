//! Statements whose text is built once. sea-query builds the same text for a statement
//! of the same shape on every call, and on the hottest reads that building was a large
//! part of the call (BENCHMARKS.md, issue 21): a ticket read by id cost GetTicket's
//! handler 46,000 instructions a call to build. A [`Prebuilt`] keeps the first call's
//! text and sends it with each later call's own values; a [`PrebuiltShapes`] keeps one
//! text for each shape of a query whose clauses vary (a ticket list's filters); a
//! [`PrebuiltInsert`] does the same for the INSERTs of every write (a ticket, its event and
//! its history entries).

use std::collections::HashMap;
use std::sync::{LazyLock, OnceLock, RwLock};

use sea_orm::{
    ActiveModelTrait, DbBackend, DbErr, EntityTrait, ExecResult, Iterable, QueryResult, QueryTrait, Statement,
    StatementBuilder, Value,
};

use super::direct::{self, Direct};

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
        conn: &impl Direct,
        values: Vec<Value>,
        build: impl FnOnce() -> S,
    ) -> Result<Option<QueryResult>, DbErr> {
        direct::one(conn, self.bind(conn.get_database_backend(), values, build)).await
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
            Some(kept) if fits(kept, backend, &values) => rebind(kept, values),
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

/// Whether `kept` serves `values` on `backend`: built for it, with as many placeholders.
fn fits(kept: &Statement, backend: DbBackend, values: &[Value]) -> bool {
    kept.db_backend == backend && kept.values.as_ref().map_or(0, |v| v.0.len()) == values.len()
}

/// `kept`'s text with `values`.
fn rebind(kept: &Statement, values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(kept.db_backend, kept.sql.clone(), values)
}

/// Statements of one query whose clauses depend on its request (a list's filters), each
/// text built once: as [`Prebuilt`], one text kept for each shape. A shape is a number
/// that tells which clauses the statement has and how many values each binds; the shapes
/// a query can have are few and bounded, so the texts kept are too.
pub(crate) struct PrebuiltShapes(LazyLock<RwLock<HashMap<u64, Statement>>>);

impl PrebuiltShapes {
    pub(crate) const fn new() -> Self {
        Self(LazyLock::new(Default::default))
    }

    /// Every row `conn` returns for the statement of `shape` with `values`.
    pub(crate) async fn all<S: StatementBuilder>(
        &self,
        conn: &impl Direct,
        shape: u64,
        values: Vec<Value>,
        build: impl FnOnce() -> S,
    ) -> Result<Vec<QueryResult>, DbErr> {
        direct::all(conn, self.bind(conn.get_database_backend(), shape, values, build)).await
    }

    /// The statement of `shape` for `values`: the kept text, or `build`'s own statement
    /// (then kept for `shape`).
    fn bind<S: StatementBuilder>(
        &self,
        backend: DbBackend,
        shape: u64,
        values: Vec<Value>,
        build: impl FnOnce() -> S,
    ) -> Statement {
        if let Some(kept) = self.0.read().expect("the kept statements' lock").get(&shape)
            && fits(kept, backend, &values)
        {
            return rebind(kept, values);
        }
        let built = backend.build(&build());
        self.0.write().expect("the kept statements' lock").insert(shape, built.clone());
        built
    }

    /// Whether [`PrebuiltShapes::bind`] sends for `values` what `build` builds afresh, on
    /// both backends, whichever built the kept text (for the tests of each use).
    #[cfg(test)]
    pub(crate) fn is_rebuilt_by<S: StatementBuilder>(
        &self,
        shape: u64,
        values: Vec<Value>,
        build: impl Fn() -> S,
    ) -> bool {
        [DbBackend::MySql, DbBackend::Sqlite, DbBackend::MySql].into_iter().all(|backend| {
            let expected = backend.build(&build());
            self.bind(backend, shape, values.clone(), &build) == expected
                && self.bind(backend, shape, values.clone(), &build) == expected
        })
    }
}

/// INSERTs of one to four rows of a table, each built once: as [`Prebuilt`], but the
/// shape of an INSERT is its rows' count and the columns they set, so a kept text serves
/// only rows of that shape, and any other is built afresh.
pub(crate) struct PrebuiltInsert([OnceLock<KeptInsert>; 4]);

struct KeptInsert {
    /// The columns set, a bit each in the entity's column order.
    columns: u64,
    statement: Statement,
}

impl PrebuiltInsert {
    pub(crate) const fn new() -> Self {
        Self([const { OnceLock::new() }; 4])
    }

    /// Inserts `rows` on `conn`, as sea-orm's `insert_many(rows).exec` would, without the
    /// building. The result's `last_insert_id` is the first row's id.
    pub(crate) async fn exec<A>(&self, conn: &impl Direct, rows: Vec<A>) -> Result<ExecResult, DbErr>
    where
        A: ActiveModelTrait + Send,
    {
        direct::execute(conn, self.statement(conn.get_database_backend(), rows)).await
    }

    /// Inserts one row; its id.
    pub(crate) async fn exec_one<A>(&self, conn: &impl Direct, row: A) -> Result<i64, DbErr>
    where
        A: ActiveModelTrait + Send,
    {
        let id = self.exec(conn, vec![row]).await?.last_insert_id();
        i64::try_from(id).map_err(|_| DbErr::Custom(format!("an inserted row's id {id} is out of range")))
    }

    /// The INSERT of `rows`: the kept text with their values when one of their shape is
    /// kept, else built (and kept, if none is kept for their count yet).
    fn statement<A: ActiveModelTrait>(&self, backend: DbBackend, mut rows: Vec<A>) -> Statement {
        let slot = rows.len().checked_sub(1).and_then(|i| self.0.get(i));
        let columns = shape(&rows);
        if let (Some(slot), Some(columns)) = (slot, columns) {
            if let Some(kept) = slot.get().filter(|k| k.columns == columns && k.statement.db_backend == backend) {
                return rebind(&kept.statement, rows.iter_mut().flat_map(take_set).collect());
            }
            let built = backend.build(&<A::Entity as EntityTrait>::insert_many(rows).into_query());
            // Another call may have kept one meanwhile; both are the same text.
            let _ = slot.set(KeptInsert { columns, statement: built.clone() });
            return built;
        }
        backend.build(&<A::Entity as EntityTrait>::insert_many(rows).into_query())
    }

    /// Whether [`PrebuiltInsert::statement`] gives for `rows` what sea-orm builds afresh,
    /// on both backends, whichever built the kept text (for the tests of each use).
    #[cfg(test)]
    pub(crate) fn is_rebuilt_by<A: ActiveModelTrait + Clone>(&self, rows: &[A]) -> bool {
        [DbBackend::MySql, DbBackend::Sqlite, DbBackend::MySql].into_iter().all(|backend| {
            let expected = backend.build(&<A::Entity as EntityTrait>::insert_many(rows.to_vec()).into_query());
            self.statement(backend, rows.to_vec()) == expected && self.statement(backend, rows.to_vec()) == expected
        })
    }
}

/// The columns every row of `rows` sets, a bit each; None when they differ or the entity
/// has more than 64 columns.
fn shape<A: ActiveModelTrait>(rows: &[A]) -> Option<u64> {
    let mut shapes = rows.iter().map(|row| {
        let mut columns = 0u64;
        for (i, c) in <A::Entity as EntityTrait>::Column::iter().enumerate() {
            if !row.is_not_set(c) {
                columns |= 1u64.checked_shl(u32::try_from(i).ok()?)?;
            }
        }
        Some(columns)
    });
    let first = shapes.next()??;
    shapes.all(|s| s == Some(first)).then_some(first)
}

/// The values of the columns `row` sets, taken in the entity's column order: the values
/// sea-orm's `Insert` binds for it, in the order of their placeholders.
fn take_set<A: ActiveModelTrait>(row: &mut A) -> Vec<Value> {
    <A::Entity as EntityTrait>::Column::iter().filter_map(|c| row.take(c).into_value()).collect()
}
