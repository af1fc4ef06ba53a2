//! What one request may ask for: the counts and sizes a caller controls, each bounded by
//! a setting, so that no single call can hold the database or grow a response past what
//! a default client reads (4 MiB).

/// The largest response message a default gRPC client accepts (grpcio, grpcurl, Rust's).
pub const CLIENT_MESSAGE_LIMIT: usize = 4 * 1024 * 1024;

/// The largest attachment the service will store: GetAttachment returns it in one
/// message, which must stay under [`CLIENT_MESSAGE_LIMIT`] with its metadata.
pub const ATTACHMENT_BYTES_CEILING: usize = 4_000_000;

/// The request limits, from the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Attachments one message may carry.
    pub attachments_per_message: usize,
    /// Bytes of one attachment.
    pub attachment_bytes: usize,
    /// Bytes of all the attachments of one message together.
    pub message_attachment_bytes: usize,
    /// Values of a repeated filter field (for example ListTickets `statuses`).
    pub filter_values: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            attachments_per_message: 10,
            attachment_bytes: 3 * 1024 * 1024,
            message_attachment_bytes: 10 * 1024 * 1024,
            filter_values: 16,
        }
    }
}

impl Limits {
    /// Checks the limits make sense together; the message names the setting to change.
    pub fn check(&self) -> Result<(), String> {
        if self.attachment_bytes > ATTACHMENT_BYTES_CEILING {
            return Err(format!(
                "SUPPORT_MAX_ATTACHMENT_BYTES is {}; at most {ATTACHMENT_BYTES_CEILING} (an attachment is read back in one 4 MiB message)",
                self.attachment_bytes
            ));
        }
        if self.attachments_per_message > 100 {
            return Err(format!(
                "SUPPORT_MAX_ATTACHMENTS_PER_MESSAGE is {}; at most 100 (each is a row written in the message's transaction)",
                self.attachments_per_message
            ));
        }
        if self.filter_values == 0 || self.filter_values > 100 {
            return Err(format!("SUPPORT_MAX_FILTER_VALUES is {}; use 1 to 100", self.filter_values));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_hold_and_an_oversized_attachment_limit_is_refused() {
        assert_eq!(Limits::default().check(), Ok(()));
        let big = Limits { attachment_bytes: 5 * 1024 * 1024, ..Limits::default() };
        assert!(big.check().unwrap_err().contains("SUPPORT_MAX_ATTACHMENT_BYTES"));
        let many = Limits { attachments_per_message: 1_000_000, ..Limits::default() };
        assert!(many.check().is_err());
    }
}
