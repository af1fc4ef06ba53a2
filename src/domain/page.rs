//! Pages of results (AIP-158): a clamped size, an opaque cursor, the next page's token.

/// A page request: a clamped size and an optional cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Rows to return (1-500).
    pub size: u64,
    /// The opaque token of the previous page.
    pub token: Option<String>,
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The rows.
    pub items: Vec<T>,
    /// The token of the next page; None on the last page.
    pub next_token: Option<String>,
}

/// The default page size (AIP-158).
pub const DEFAULT_PAGE_SIZE: u64 = 50;
/// The largest page size; larger requests are clamped.
pub const MAX_PAGE_SIZE: u64 = 500;

impl PageRequest {
    /// Validates a requested size and token: negative sizes are refused, 0 means the default.
    pub fn parse(size: i32, token: &str) -> Result<Self, String> {
        let size = match size {
            s if s < 0 => return Err(format!("must not be negative (got {s})")),
            0 => DEFAULT_PAGE_SIZE,
            s => (s as u64).min(MAX_PAGE_SIZE),
        };
        let token = (!token.is_empty()).then(|| token.to_owned());
        Ok(Self { size, token })
    }
}
