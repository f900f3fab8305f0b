//! Wiring: opens the store, builds the use cases, and runs the daemon's loops (mail ingest,
//! outbox worker, HTTP) until shutdown.
//!
//! Loops are exposed as single steps (`ingest_step`, the outbox worker's `step`) that tests and
//! the demo drive one at a time; only the loops here read the clock.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::{Config, MailboxSource};
use crate::ingest::maildir::{Maildir, StepReport};
use crate::offers::Offers;
use crate::ops::{self, Ops};
use crate::outbox::templates::Templates;
use crate::store::{self, Store};

/// Everything a command needs, opened once.
#[derive(Clone)]
pub struct App {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub offers: Arc<Offers>,
    /// Heartbeats, metrics and mailbox contacts (SIGTERM/READY/watchdog use it in `run_daemon`).
    pub ops: Arc<Ops>,
    /// ---- ops (issue #8, ops2): SIGHUP reload. The routes, requestors and templates the
    /// Maildir loop uses, swapped as a whole by [`App::reload`]; `config` and `offers` above
    /// stay as started (the IMAP tasks and HTTP still use those: see ARCHITECTURE.md).
    pub live: Arc<ops::reload::Live>,
}

impl App {
    /// Connects to the database (migrating it when configured) and loads the templates.
    pub async fn open(config: Config) -> anyhow::Result<App> {
        if let Some(path) = config.database.url.strip_prefix("sqlite://") {
            if let Some(parent) =
                std::path::Path::new(path.split('?').next().unwrap_or(path)).parent()
            {
                if !parent.as_os_str().is_empty() {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        anyhow::anyhow!("creating the database folder {}: {e}", parent.display())
                    })?;
                }
            }
        }
        let store = store::connect(&config.database.url).await?;
        if config.database.migrate_on_start {
            store
                .migrate()
                .await
                .map_err(|e| anyhow::anyhow!("migrating the database: {e}"))?;
        }
        let templates = Arc::new(Templates::load(config.templates.dir.as_deref())?);
        let offers = Arc::new(Offers::new(store.clone(), templates, &config));
        // Every mailbox, Maildir and IMAP (issue #4, imap2): each loop beats once per step
        // and records a contact after each successful read or server round trip.
        let ops = Arc::new(Ops::new(config.mailboxes.iter().map(|m| m.name.clone())));
        let config = Arc::new(config);
        let live = Arc::new(ops::reload::Live::new(
            config.clone(),
            offers.clone(),
            store.clone(),
        ));
        Ok(App {
            config,
            store,
            offers,
            ops,
            live,
        })
    }

    /// The Maildir inboxes of the configuration, opened (folders created).
    pub fn maildirs(&self) -> anyhow::Result<Vec<(String, Maildir)>> {
        self.config
            .mailboxes
            .iter()
            .filter_map(|m| match &m.source {
                MailboxSource::Maildir(dir) => {
                    Some(Maildir::open(dir).map(|md| (m.name.clone(), md)))
                }
                MailboxSource::Imap(_) => None,
            })
            .collect()
    }

    /// One pass over every Maildir inbox.
    pub async fn ingest_step(&self, now: DateTime<Utc>) -> anyhow::Result<StepReport> {
        let mut total = StepReport::default();
        let live = self.live.current();
        for (name, maildir) in self.maildirs()? {
            let r = maildir.step(&name, &live.offers, &live.config, now).await?;
            total.created += r.created;
            total.duplicates += r.duplicates;
            total.rejected += r.rejected;
            total.resumed += r.resumed;
            total.errors += r.errors;
        }
        Ok(total)
    }

    /// The matching timer loop (issue #5): a `dispatch_step` every `every` (waves, deadlines,
    /// closes), until `shutdown` resolves. A failed step is logged and retried at the next tick.
    pub async fn dispatch_loop(self, every: Duration, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tick.tick() => {}
            }
            // The offers of the live configuration: SIGHUP's requestors and routes apply here too.
            let live = self.live.current();
            if let Err(e) = live.offers.dispatch_step(Utc::now()).await {
                tracing::error!(error = %format!("{e:#}"), "matching step failed; retrying");
            }
            self.ops.heartbeats.beat(DISPATCH_LOOP);
        }
    }

    /// The ingest loop: a pass every `every`, until `shutdown` resolves. A pass that fails is
    /// logged and retried at the next tick; one mailbox's failure does not stop the others.
    /// Shutdown during a pass abandons it between database round trips (nothing is lost: see
    /// `ingest::maildir`'s crash invariant).
    pub async fn ingest_loop(self, every: Duration, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tick.tick() => {}
            }
            // One configuration per pass (a SIGHUP takes effect at the next pass).
            let live = self.live.current();
            for (name, maildir) in match self.maildirs() {
                Ok(m) => m,
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "cannot open the Maildir inboxes");
                    // The loop itself is alive (a restart would not fix a bad path): beat.
                    for m in &self.config.mailboxes {
                        if let MailboxSource::Maildir(_) = m.source {
                            self.ops.metrics.mailbox_failed(&m.name);
                            self.ops.heartbeats.beat(&ops::mailbox_loop(&m.name));
                        }
                    }
                    continue;
                }
            } {
                // ---- ops (issue #8, ops2): a SIGTERM does not wait for a whole backlog. The
                // pass is dropped where it stands, as a crash would leave it but without one:
                // a message is either committed (then moved, or resumed on the next start by
                // `message_recorded`) or still in new/ untouched.
                let step = tokio::select! {
                    r = maildir.step(&name, &live.offers, &live.config, Utc::now()) => r,
                    _ = &mut shutdown => {
                        tracing::info!(mailbox = %name, "shutdown during an ingest pass; the rest of the inbox waits for the next start");
                        return;
                    }
                };
                match step {
                    Ok(r) => {
                        self.ops.contacted(&name);
                        self.ops.metrics.ingested(
                            &name,
                            r.created,
                            r.duplicates,
                            r.rejected,
                            r.resumed,
                            r.errors,
                        );
                    }
                    Err(e) => {
                        self.ops.metrics.mailbox_failed(&name);
                        tracing::error!(mailbox = %name, error = %format!("{e:#}"), "ingest pass failed");
                    }
                }
                self.ops.heartbeats.beat(&ops::mailbox_loop(&name));
            }
        }
    }
}

impl App {
    /// One task per `[[mailbox]]` with IMAP, each with its own reconnect loop: one mailbox's
    /// failure never touches the others. They stop when `stop` turns true.
    pub fn spawn_imap(
        &self,
        stop: &tokio::sync::watch::Receiver<bool>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let options = self.imap_options();
        self.config
            .mailboxes
            .iter()
            .filter_map(|m| match &m.source {
                MailboxSource::Imap(imap) => Some((m.name.clone(), imap.clone())),
                MailboxSource::Maildir(_) => None,
            })
            .map(|(name, imap)| {
                let mailbox = crate::ingest::imap::ImapMailbox::new(
                    name,
                    imap,
                    self.offers.clone(),
                    self.config.clone(),
                    options.clone(),
                )
                .with_ops(self.ops.clone())
                .with_live(self.live.clone());
                let mut rx = stop.clone();
                tokio::spawn(mailbox.run(async move {
                    let _ = rx.wait_for(|s| *s).await;
                }))
            })
            .collect()
    }
}

// ---- ops (issue #8, ops2): SIGHUP reload ------------------------------------------------

impl App {
    /// Reads the configuration file again and applies its routes, requestors and templates;
    /// an invalid file is refused with the reason and the running configuration kept. Logs
    /// the outcome either way.
    pub fn reload(&self) -> Result<ops::reload::Changes, ops::reload::Refused> {
        let loaded = Config::load(
            self.config.source.as_deref(),
            &self.config.data_dir,
            std::env::vars(),
        );
        let result = self.live.reload(loaded);
        match &result {
            Ok(changes) if !changes.needs_restart.is_empty() => tracing::warn!(
                changes = %changes,
                "configuration reloaded; some changes need a restart"
            ),
            Ok(changes) => tracing::info!(changes = %changes, "configuration reloaded"),
            Err(e) => tracing::error!(
                error = %e,
                "configuration reload refused; still running the previous one (fix the file and send SIGHUP again)"
            ),
        }
        result
    }

    /// Reloads on every SIGHUP until `stop` turns true. `hup` is made by the caller before
    /// READY=1, so a SIGHUP never finds the default action (which ends the process).
    pub async fn reload_on_sighup(
        self,
        mut hup: tokio::signal::unix::Signal,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            tokio::select! {
                _ = stop.wait_for(|s| *s) => break,
                got = hup.recv() => if got.is_none() { break },
            }
            ops::notify::reloading();
            let status = match self.reload() {
                Ok(changes) => format!("serving; reloaded: {changes}"),
                Err(e) => format!("serving; reload refused: {e}"),
            };
            ops::notify::ready(&status);
        }
    }
}

// ---- end ops (issue #8, ops2) -------------------------------------------------------------

impl App {
    /// The IMAP tasks' timeouts (issue #4, imap2): the defaults, with the watch lease only
    /// where several instances may run (PostgreSQL).
    pub fn imap_options(&self) -> crate::ingest::imap::ImapOptions {
        crate::ingest::imap::ImapOptions {
            use_lease: !self.config.database.url.starts_with("sqlite:"),
            ..Default::default()
        }
    }
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM: draining"),
                _ = tokio::signal::ctrl_c() => tracing::info!("interrupted: draining"),
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch SIGTERM; only Ctrl-C stops the daemon");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// `dragoman run`: ingest, the outbox worker and HTTP until SIGTERM, then a drain: the outbox
/// finishes the sends under way and records them, HTTP answers the requests under way, the
/// Maildir pass stops between messages; anything not done is still in the inbox or the
/// outbox. SIGHUP reloads routes, requestors and templates ([`App::reload`]).
pub async fn run_daemon(config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.http.listen)
        .await
        .map_err(|e| anyhow::anyhow!("listening on {} ([http] listen): {e}", config.http.listen))?;
    let app = App::open(config).await?;
    let mailer = crate::outbox::mailer::Mailer::from_config(&app.config)?;
    let live = app.live.clone();
    let worker = crate::outbox::Worker::new(app.store.clone(), mailer)
        .with_ops(app.ops.clone())
        .with_templates(Arc::new(move || live.current().offers.shared_templates()));
    // Every loop the watchdog waits for, declared before it starts so one that never gets
    // going is noticed too. A Maildir pass is quick; the outbox may spend a whole lease on
    // one batch of slow sends.
    for m in &app.config.mailboxes {
        // An IMAP task may wait a whole IDLE (or a backoff) between two beats (issue #4).
        let allowance = match m.source {
            MailboxSource::Maildir(_) => MAILBOX_ALLOWANCE,
            MailboxSource::Imap(_) => app.imap_options().heartbeat_allowance(),
        };
        app.ops
            .heartbeats
            .register(&ops::mailbox_loop(&m.name), allowance);
    }
    app.ops
        .heartbeats
        .register(ops::OUTBOX_LOOP, worker.lease() + Duration::from_secs(60));
    app.ops
        .heartbeats
        .register(DISPATCH_LOOP, MAILBOX_ALLOWANCE);
    tracing::info!(
        mailboxes = app.config.mailboxes.len(),
        routes = app.config.routes.len(),
        http = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(),
        "dragoman started"
    );
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let ingest = tokio::spawn(
        app.clone()
            .ingest_loop(Duration::from_secs(2), stopped(stop_rx.clone())),
    );
    let imap = app.spawn_imap(&stop_rx);
    let outbox = tokio::spawn(worker.run(stopped(stop_rx.clone())));
    let dispatch = tokio::spawn(
        app.clone()
            .dispatch_loop(Duration::from_secs(1), stopped(stop_rx.clone())),
    );
    let state = crate::http::AppState::new(app.offers.clone(), app.config.clone())
        .with_ops(app.ops.clone())
        .with_live(app.live.clone());
    let http = tokio::spawn(crate::http::serve(
        listener,
        state,
        stopped(stop_rx.clone()),
    ));
    let watchdog = tokio::spawn(ops::notify::watchdog(app.ops.clone(), stop_rx.clone()));
    // ---- ops (issue #8, ops2): SIGHUP reloads routes, requestors and templates.
    let hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .map_err(|e| anyhow::anyhow!("cannot watch SIGHUP (reload): {e}"))?;
    let reloader = tokio::spawn(app.clone().reload_on_sighup(hup, stop_rx.clone()));
    ops::notify::ready(&format!(
        "serving: {} mailbox(es), outbox worker running",
        app.config.mailboxes.len()
    ));
    shutdown_signal().await;
    ops::notify::stopping();
    let _ = stop_tx.send(true);
    let drain = async {
        ingest
            .await
            .map_err(|e| anyhow::anyhow!("the ingest loop panicked: {e}"))?;
        for task in imap {
            if let Err(e) = task.await {
                tracing::error!(error = %e, "an IMAP mailbox task panicked");
            }
        }
        outbox
            .await
            .map_err(|e| anyhow::anyhow!("the outbox worker panicked: {e}"))?;
        dispatch
            .await
            .map_err(|e| anyhow::anyhow!("the matching loop panicked: {e}"))?;
        http.await
            .map_err(|e| anyhow::anyhow!("the HTTP server panicked: {e}"))??;
        anyhow::Ok(())
    };
    match tokio::time::timeout(DRAIN_DEADLINE, drain).await {
        Ok(result) => result?,
        Err(_) => {
            tracing::warn!(deadline = ?DRAIN_DEADLINE, "drain deadline passed; stopping with work left in the inbox/outbox")
        }
    }
    watchdog.abort();
    reloader.abort();
    tracing::info!("dragoman stopped");
    Ok(())
}

/// The heartbeat name of the matching timer loop.
pub const DISPATCH_LOOP: &str = "matching";

/// How long a mailbox loop may go without finishing a pass before the watchdog stops being fed.
pub const MAILBOX_ALLOWANCE: Duration = Duration::from_secs(120);

/// How long SIGTERM waits for the loops to finish their current step.
pub const DRAIN_DEADLINE: Duration = Duration::from_secs(20);
