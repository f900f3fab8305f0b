//! Logging set-up: `tracing` to stderr as human text or JSON lines (journald's fields arrive
//! through JSON on stderr under systemd until the operations issue adds the native writer).
//!
//! Called once by `main`. Library code only emits events; it never configures logging.

use tracing_subscriber::{fmt, EnvFilter};

use crate::config::LogConfig;

/// Installs the global subscriber. `RUST_LOG` wins over the configured level.
pub fn init(log: &LogConfig) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&log.level));
    let json = match log.format.as_str() {
        "json" | "journald" => true,
        "text" => false,
        _ => std::env::var_os("JOURNAL_STREAM").is_some(),
    };
    let builder = fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let result = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
    // Already installed (tests, or `demo` inside `run`): keep the first.
    let _ = result;
}

/// For commands that print results to stdout: only warnings and errors on stderr.
pub fn init_quiet() {
    init_at("warn");
}

/// Like `init_quiet` at another default level (the demo shows only errors beside its story).
pub fn init_at(level: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let _ = fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
