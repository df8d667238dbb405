//! The chat store's section. Declared once (see `crate::config`): the field is its flag,
//! environment variable, file key and default.

use crate::config::{ConfigError, MAX_CHAT_RETENTION_DAYS};
use clap::Args;
use serde::Serialize;
use std::time::Duration;

/// Where chat history is kept.
#[derive(Args, Clone, Debug, Serialize)]
pub struct StoreSettings {
    /// Days chat messages are kept in <data-dir>/confab.db, so history survives rooms
    /// emptying and server restarts; 0 keeps chat in memory only (a room's history then
    /// ends with the room).
    #[arg(
        long,
        env = "CONFAB_CHAT_RETENTION_DAYS",
        value_name = "DAYS",
        default_value_t = 30
    )]
    pub chat_retention_days: u32,
}

impl StoreSettings {
    /// How long chat messages are kept on disk; `None` when they are not stored.
    pub fn chat_retention(&self) -> Option<Duration> {
        (self.chat_retention_days > 0)
            .then(|| Duration::from_secs(u64::from(self.chat_retention_days) * 86_400))
    }

    pub(crate) fn finish(&mut self) -> Result<(), ConfigError> {
        if self.chat_retention_days > MAX_CHAT_RETENTION_DAYS {
            return Err(ConfigError::Invalid(format!(
                "chat_retention_days must be at most {MAX_CHAT_RETENTION_DAYS}"
            )));
        }
        Ok(())
    }
}
