//! The full-text index of tickets (issue 22): one row per ticket with its title (subject
//! and description), its public messages and its internal notes. MariaDB/MySQL keep it
//! in an InnoDB table with two FULLTEXT indexes (what customers may search, and what
//! staff may); SQLite in an FTS5 table keyed by the ticket's id (`rowid`). Existing
//! tickets and messages are indexed here; the service keeps the index current in the
//! transaction of each write.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

const MYSQL_TABLE: &str = "CREATE TABLE ticket_search (
    ticket_id BIGINT NOT NULL PRIMARY KEY,
    title TEXT NOT NULL,
    public_text MEDIUMTEXT NOT NULL,
    internal_text MEDIUMTEXT NOT NULL,
    FULLTEXT KEY ft_ticket_search_public (title, public_text),
    FULLTEXT KEY ft_ticket_search_all (title, public_text, internal_text),
    CONSTRAINT fk_ticket_search_ticket FOREIGN KEY (ticket_id) REFERENCES tickets (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci";

const MYSQL_FILL: &str = "INSERT INTO ticket_search (ticket_id, title, public_text, internal_text)
SELECT t.id, CONCAT(t.subject, '\\n', t.description),
    COALESCE((SELECT GROUP_CONCAT(l.body ORDER BY l.id SEPARATOR '\\n') FROM logs l
              WHERE l.ticket_id = t.id AND l.visibility = 'PUBLIC'), ''),
    COALESCE((SELECT GROUP_CONCAT(l.body ORDER BY l.id SEPARATOR '\\n') FROM logs l
              WHERE l.ticket_id = t.id AND l.visibility = 'INTERNAL'), '')
FROM tickets t";

const SQLITE_TABLE: &str = "CREATE VIRTUAL TABLE ticket_search USING fts5(
    title, public_text, internal_text, tokenize = 'unicode61 remove_diacritics 2')";

const SQLITE_FILL: &str = "INSERT INTO ticket_search (rowid, title, public_text, internal_text)
SELECT t.id, t.subject || char(10) || t.description,
    COALESCE((SELECT group_concat(body, char(10)) FROM (SELECT body FROM logs
              WHERE ticket_id = t.id AND visibility = 'PUBLIC' ORDER BY id)), ''),
    COALESCE((SELECT group_concat(body, char(10)) FROM (SELECT body FROM logs
              WHERE ticket_id = t.id AND visibility = 'INTERNAL' ORDER BY id)), '')
FROM tickets t";

// async_trait's signature elides SchemaManager's lifetime.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let (table, fill) = match manager.get_database_backend() {
            DatabaseBackend::Sqlite => (SQLITE_TABLE, SQLITE_FILL),
            _ => (MYSQL_TABLE, MYSQL_FILL),
        };
        db.execute_unprepared(table).await?;
        db.execute_unprepared(fill).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP TABLE ticket_search").await?;
        Ok(())
    }
}
