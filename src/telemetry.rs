//! Logging set-up: `tracing` to the systemd journal with structured fields (native protocol,
//! when `[log] format` is `journald`, or `auto` with `$JOURNAL_STREAM` set, i.e. running under
//! systemd), else to stderr as JSON lines or human text.
//!
//! Called once by `main`. Library code only emits events; it never configures logging. The level
//! comes from `[log] level`, and `RUST_LOG` wins over it. Never logs anything itself except
//! why it fell back from the journal.

use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{fmt, EnvFilter};

use crate::config::LogConfig;

/// Where the log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    Journald,
    Json,
    Text,
}

/// The sink for a configured `format` (`auto`, `text`, `json`, `journald`) given whether
/// `$JOURNAL_STREAM` is set (systemd connected stderr to the journal).
pub fn choose(format: &str, journal_stream: bool) -> Sink {
    match format {
        "json" => Sink::Json,
        "text" => Sink::Text,
        "journald" => Sink::Journald,
        _ if journal_stream => Sink::Journald,
        _ => Sink::Text,
    }
}

fn filter(level: &str) -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level))
}

/// Installs the global subscriber. `RUST_LOG` wins over the configured level. A second call
/// (tests, or `demo` inside `run`) keeps the first.
pub fn init(log: &LogConfig) {
    let sink = choose(&log.format, std::env::var_os("JOURNAL_STREAM").is_some());
    if sink == Sink::Journald {
        match tracing_journald::layer() {
            Ok(journald) => {
                let _ = tracing_subscriber::registry()
                    .with(filter(&log.level))
                    .with(journald.with_syslog_identifier("dragoman".to_string()))
                    .try_init();
                return;
            }
            Err(e) => {
                // No journal socket (a container, a test): JSON on stderr keeps the fields.
                init_stderr(&log.level, true);
                tracing::warn!(error = %e, "cannot reach the systemd journal; logging JSON lines to stderr");
                return;
            }
        }
    }
    init_stderr(&log.level, sink == Sink::Json);
}

fn init_stderr(level: &str, json: bool) {
    let builder = fmt()
        .with_env_filter(filter(level))
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}

/// For commands that print results to stdout: only warnings and errors on stderr.
pub fn init_quiet() {
    init_at("warn");
}

/// Like `init_quiet` at another default level (the demo shows only errors beside its story).
pub fn init_at(level: &str) {
    let _ = fmt()
        .with_env_filter(filter(level))
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_means_the_journal_under_systemd_and_text_elsewhere() {
        assert_eq!(choose("auto", true), Sink::Journald);
        assert_eq!(choose("auto", false), Sink::Text);
        assert_eq!(choose("json", true), Sink::Json);
        assert_eq!(choose("text", true), Sink::Text);
        assert_eq!(choose("journald", false), Sink::Journald);
    }
}
