//! Field checks. A [`Checker`] collects every violation of a request so that the caller
//! learns about all bad fields at once, each by its path.

use super::error::{DomainError, DomainResult, FieldViolation};

/// The most violations one error lists.
pub const MAX_VIOLATIONS: usize = 50;

/// Collects field violations.
#[derive(Debug, Default)]
pub struct Checker {
    violations: Vec<FieldViolation>,
}

impl Checker {
    /// An empty checker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a violation.
    pub fn fail(&mut self, field: &str, description: impl Into<String>) {
        // A request can name many bad fields (a list of a million bad items): report the
        // first ones, so the error itself stays small.
        if self.violations.len() >= MAX_VIOLATIONS {
            return;
        }
        self.violations.push(FieldViolation { field: field.to_owned(), description: description.into() });
    }

    /// Keeps the value of a check, or records its violation.
    pub fn take<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(description) => {
                self.fail(field, description);
                None
            }
        }
    }

    /// `Ok` when nothing was recorded, else `INVALID_ARGUMENT` with every violation.
    pub fn finish(self) -> DomainResult<()> {
        if self.violations.is_empty() { Ok(()) } else { Err(DomainError::Invalid(self.violations)) }
    }
}

/// A required text: trimmed, 1 to `max` characters.
pub fn required_text(value: &str, max: usize) -> Result<String, String> {
    let v = value.trim();
    if v.is_empty() {
        return Err("must not be empty".into());
    }
    bounded(v, max)
}

/// An optional text: trimmed, at most `max` characters.
pub fn optional_text(value: &str, max: usize) -> Result<String, String> {
    bounded(value.trim(), max)
}

fn bounded(v: &str, max: usize) -> Result<String, String> {
    let len = v.chars().count();
    if len > max {
        return Err(format!("must be at most {max} characters (got {len})"));
    }
    if v.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        return Err("must not contain control characters".into());
    }
    Ok(v.to_owned())
}

/// An attachment's file name, made safe to offer for download: only its last path
/// component, with characters that mean something to a file system or a shell header
/// replaced by `_`, and no leading or trailing dots (`../../etc/passwd` is `passwd`).
pub fn file_name(value: &str, max: usize) -> Result<String, String> {
    let v = required_text(value, max)?;
    let base = v.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .map(|c| if c.is_control() || matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*' | ';') { '_' } else { c })
        .collect();
    let cleaned = cleaned.trim_matches(['.', ' ']);
    Ok(if cleaned.is_empty() { "attachment".to_owned() } else { cleaned.to_owned() })
}

/// Content types an attachment keeps as given: ones a browser shows without running
/// anything. Every other type is stored as `application/octet-stream` (a download).
pub const SAFE_CONTENT_TYPES: &[&str] = &[
    "application/pdf",
    "application/zip",
    "application/json",
    "audio/mpeg",
    "audio/ogg",
    "image/gif",
    "image/jpeg",
    "image/png",
    "image/webp",
    "text/csv",
    "text/plain",
    "video/mp4",
];

/// The content type to store for a declared one: the declared type, lower-cased and
/// without parameters, when it is on [`SAFE_CONTENT_TYPES`]; `application/octet-stream`
/// otherwise (so `text/html` cannot be served back as a page).
pub fn safe_content_type(declared: &str) -> String {
    let essence = declared.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if SAFE_CONTENT_TYPES.contains(&essence.as_str()) { essence } else { "application/octet-stream".to_owned() }
}

/// An email address, lower-cased: one `@`, a local part of 1-64 characters, a dotted domain.
pub fn email(value: &str) -> Result<String, String> {
    const HINT: &str = "must be a valid email address like name@example.com";
    let v = value.trim().to_lowercase();
    if v.is_empty() {
        return Err("must not be empty".into());
    }
    if v.len() > 254 {
        return Err("must be at most 254 characters".into());
    }
    let Some((local, domain)) = v.split_once('@') else {
        return Err(HINT.into());
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if local_ok && domain_ok { Ok(v) } else { Err(HINT.into()) }
}

/// An optional phone number: digits, spaces and `+ - ( ) .`, at most 32 characters, with a digit.
pub fn phone(value: &str) -> Result<String, String> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(String::new());
    }
    if v.len() > 32
        || !v.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c))
        || !v.chars().any(|c| c.is_ascii_digit())
    {
        return Err("must be a phone number of at most 32 characters: digits, spaces and + - ( ) .".into());
    }
    Ok(v.to_owned())
}

/// A positive id.
pub fn id(value: i64) -> Result<i64, String> {
    if value > 0 { Ok(value) } else { Err("must be a positive id".into()) }
}

/// Impact on the 1-5 scale.
pub fn impact(value: i32) -> Result<i32, String> {
    if (1..=5).contains(&value) { Ok(value) } else { Err(format!("must be between 1 and 5 (got {value})")) }
}

/// Rating on the 1-5 scale.
pub fn rating(value: i32) -> Result<i32, String> {
    if (1..=5).contains(&value) { Ok(value) } else { Err(format!("must be between 1 and 5 (got {value})")) }
}

/// An etag as sent back by a caller: empty (no check) or the version it was read at.
pub fn etag(value: &str) -> Result<Option<i64>, String> {
    let v = value.trim().trim_matches('"');
    if v.is_empty() {
        return Ok(None);
    }
    v.parse::<i64>().map(Some).map_err(|_| "must be an etag returned by this service".into())
}

/// An idempotency key: empty (none) or up to 128 printable ASCII characters.
pub fn request_id(value: &str) -> Result<Option<String>, String> {
    if value.is_empty() {
        return Ok(None);
    }
    if value.len() > 128 || !value.chars().all(|c| c.is_ascii_graphic()) {
        return Err("must be at most 128 printable ASCII characters, e.g. a UUID".into());
    }
    Ok(Some(value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_their_paths_and_types_their_danger() {
        assert_eq!(file_name("../../../etc/passwd", 255).unwrap(), "passwd");
        assert_eq!(file_name("..\\win\\boot.ini", 255).unwrap(), "boot.ini");
        assert_eq!(file_name("a<b>:c.txt", 255).unwrap(), "a_b__c.txt");
        assert_eq!(file_name("..", 255).unwrap(), "attachment");
        assert!(file_name("", 255).is_err());
        assert_eq!(safe_content_type("text/html"), "application/octet-stream");
        assert_eq!(safe_content_type("Image/PNG; x=1"), "image/png");
        assert_eq!(safe_content_type(""), "application/octet-stream");
    }

    #[test]
    fn a_checker_lists_at_most_its_limit_of_violations() {
        let mut c = Checker::new();
        for i in 0..10_000 {
            c.fail(&format!("f{i}"), "bad");
        }
        let Err(DomainError::Invalid(v)) = c.finish() else { panic!("violations expected") };
        assert_eq!(v.len(), MAX_VIOLATIONS);
    }

    #[test]
    fn emails() {
        assert_eq!(email(" Ann@Example.COM ").unwrap(), "ann@example.com");
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "a b@example.com",
            "ann@exa_mple.com",
            "ann..b@example.com",
            "ann@-x.com",
        ] {
            assert!(email(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn texts_and_numbers() {
        assert!(required_text("   ", 10).is_err());
        assert_eq!(required_text(" x ", 10).unwrap(), "x");
        assert!(required_text(&"é".repeat(11), 10).is_err());
        assert!(required_text("a\u{0}b", 10).is_err());
        assert!(impact(0).is_err() && impact(6).is_err() && impact(3).is_ok());
        assert!(phone("+1 (555) 010-2000").is_ok() && phone("call me").is_err());
        assert_eq!(etag("\"4\"").unwrap(), Some(4));
        assert!(etag("abc").is_err());
        assert!(request_id("é").is_err());
    }
}
