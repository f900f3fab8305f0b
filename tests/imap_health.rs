//! An IMAP mailbox task under a misbehaving server, seen from outside: Dovecot dropping the
//! daemon's connections (`doveadm kick`, what a Dovecot restart does to its clients) and the
//! next message still ingested; `/readyz` going unready while the mailbox is unreachable and
//! ready again once it is back; the task's heartbeats and contacts in the ops registry.
//!
//! Why `doveadm kick` and not a restart of the shared Dovecot: the mail stack is shared by every
//! engineer's tests, and a restart would fail theirs (tests/imap_restart.rs restarts a private
//! Dovecot of its own instead). The kick closes exactly this test's
//! connections (it works as its own user, `ingest10@agency.test`) the way a restart does: the
//! server says BYE and closes the socket. The unreachable server is a TCP proxy that closes every
//! connection and refuses new ones.

#[path = "common/imap.rs"]
mod imap_common;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use dragoman::ingest::imap::{ImapMailbox, ImapOptions};
use dragoman::ops::{self, Ops};
use imap_common::*;

/// A user only this file logs in as: `doveadm kick` closes every session of its user.
const KICK_USER: &str = "ingest10@agency.test";

fn fast_options() -> ImapOptions {
    ImapOptions {
        connect_timeout: Duration::from_secs(5),
        command_timeout: Duration::from_secs(5),
        idle_silence: Duration::from_secs(60),
        idle_deadline: Duration::from_secs(60),
        poll_every: Duration::from_secs(60),
        backoff_min: Duration::from_millis(50),
        backoff_max: Duration::from_millis(200),
        use_lease: false,
        ..Default::default()
    }
}

/// The private Dovecot's configuration file (scripts/mailstack keeps it beside the logs).
fn dovecot_conf() -> std::path::PathBuf {
    let log = std::env::var("DRAGOMAN_TEST_MAILSTACK_LOG").unwrap_or_else(|_| {
        panic!("DRAGOMAN_TEST_MAILSTACK_LOG is not set: run ./scripts/mailstack start and eval \"$(./scripts/mailstack env)\"")
    });
    let conf = std::path::Path::new(&log).join("../dovecot/dovecot.conf");
    assert!(
        conf.exists(),
        "{} is missing: is the mail stack from scripts/mailstack running?",
        conf.display()
    );
    conf
}

/// `doveadm kick USER` against the private Dovecot; true when a session was kicked.
fn kick(user: &str) -> bool {
    let out = Command::new("doveadm")
        .arg("-c")
        .arg(dovecot_conf())
        .args(["kick", user])
        .output()
        .expect("run doveadm (installed with dovecot-core by scripts/mailstack)");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    // 0: kicked; 68 (EX_NOUSER): "no users kicked".
    assert!(
        matches!(out.status.code(), Some(0) | Some(68)),
        "doveadm kick failed ({}): {text}",
        out.status
    );
    out.status.success()
}

fn toml_for(env: &MailEnv, user: &str, port: u16, folder: &str) -> String {
    format!(
        "[[mailbox]]\nname = \"imap\"\nhost = \"{}\"\nport = {port}\ntls = \"none\"\nusername = \"{user}\"\npassword = \"{}\"\nfolder = \"{folder}\"\n",
        env.host, env.password,
    )
}

#[tokio::test]
async fn dovecot_dropping_the_connection_under_the_daemon_then_the_next_message_is_ingested() {
    let env = mail_env();
    let mut admin = admin(&env, KICK_USER).await;
    let folder = fresh_folder(&mut admin).await;
    append(&mut admin, &folder, &invitation("kick", 1), None).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite://{}/dragoman.db", dir.path().display());
    let config = write_config(
        dir.path(),
        &db,
        &toml_for(&env, KICK_USER, env.imap_port, &folder),
    );
    let app = open_app(&config, dir.path()).await;
    let ops = Arc::new(Ops::new(["imap"]));
    let mb = ImapMailbox::new(
        "imap",
        imap_of(&app, "imap"),
        app.offers.clone(),
        app.config.clone(),
        fast_options(),
    )
    .with_ops(ops.clone());
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(mb.run(async move {
        let _ = stop_rx.wait_for(|s| *s).await;
    }));
    eventually("the first message", Duration::from_secs(10), || async {
        ingested(&app).await == 1
    })
    .await;
    // The admin session goes too (same user); the daemon's connection is in IDLE by now or
    // about to be: kick until one of its sessions was there to kick.
    drop(admin);
    let kicked_at = std::time::Instant::now();
    eventually("a session to kick", Duration::from_secs(10), || async {
        kick(KICK_USER)
    })
    .await;
    let store = app.store.clone();
    eventually(
        "the dropped connection in the health",
        Duration::from_secs(10),
        || async {
            store.mailbox_health().await.expect("health")[0]
                .last_error
                .is_some()
        },
    )
    .await;

    let mut admin = imap_common::admin(&env, KICK_USER).await;
    append(&mut admin, &folder, &invitation("kick", 2), None).await;
    let took = eventually(
        "the next message after the reconnect",
        Duration::from_secs(15),
        || async { ingested(&app).await == 2 },
    )
    .await;
    eprintln!(
        "kicked; reconnected and ingested the next message {took:?} after its APPEND ({:?} after the kick)",
        kicked_at.elapsed()
    );
    assert_eq!(
        flags_in(&mut admin, &folder).await,
        vec![(1, true), (2, true)],
        "both marked, none deleted"
    );
    // The task told the ops registry: it beat, it is contacted again, and the drop counted.
    let now = std::time::Instant::now();
    assert!(ops.unready_mailboxes(now).is_empty(), "contacted again");
    assert!(
        ops.heartbeats
            .snapshot(now)
            .iter()
            .any(|(name, age)| name == &ops::mailbox_loop("imap") && *age < Duration::from_secs(15)),
        "the loop beats"
    );
    let metrics = ops.render_metrics(None);
    let errors = metrics
        .lines()
        .find(|l| l.starts_with("dragoman_mailbox_errors_total{") && l.contains("imap"))
        .unwrap_or_else(|| panic!("no error counter in:\n{metrics}"));
    assert!(!errors.ends_with(" 0"), "the drop counted: {errors}");

    stop_tx.send(true).expect("stop");
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the task stops on shutdown")
        .expect("no panic");
}

#[tokio::test]
async fn readyz_goes_unready_while_a_mailbox_is_unreachable_and_ready_when_it_is_back() {
    let env = mail_env();
    let mut admin = admin(&env, USER).await;
    let folder = fresh_folder(&mut admin).await;
    let proxy = Proxy::start((env.host.clone(), env.imap_port)).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite://{}/dragoman.db", dir.path().display());
    let config = write_config(dir.path(), &db, &toml_for(&env, USER, proxy.port, &folder));
    let app = open_app(&config, dir.path()).await;
    // Short bounds: a contact is required every 3 s, so the task must end each IDLE within
    // 1 s (the daemon's defaults: 5 min and 3.5 min).
    let allowance = Duration::from_secs(3);
    let ops = Arc::new(Ops::new(["imap"]).with_contact_allowance(allowance));
    let options = ImapOptions {
        idle_silence: Duration::from_secs(1),
        idle_deadline: Duration::from_secs(1),
        ..fast_options()
    };
    assert!(options.idle_deadline < allowance);
    let mb = ImapMailbox::new(
        "imap",
        imap_of(&app, "imap"),
        app.offers.clone(),
        app.config.clone(),
        options,
    )
    .with_ops(ops.clone());

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let state =
        dragoman::http::AppState::new(app.offers.clone(), app.config.clone()).with_ops(ops.clone());
    let http = tokio::spawn(dragoman::http::serve(
        listener,
        state,
        stopped(stop_rx.clone()),
    ));
    let client = reqwest::Client::new();
    let readyz = || {
        let (client, url) = (client.clone(), format!("{base}/readyz"));
        async move {
            let res = client.get(url).send().await.expect("GET /readyz");
            let status = res.status().as_u16();
            (status, res.text().await.unwrap_or_default())
        }
    };
    let (status, body) = readyz().await;
    assert_eq!(status, 503, "never contacted yet: {body}");
    assert!(body.contains("mailbox imap"), "{body}");

    let task = tokio::spawn(mb.run(stopped(stop_rx.clone())));
    eventually(
        "ready once the mailbox is read",
        Duration::from_secs(10),
        || async { readyz().await.0 == 200 },
    )
    .await;
    // Stays ready while idle: each IDLE ends within the allowance with a contact.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let (status, body) = readyz().await;
        assert_eq!(status, 200, "an idle, healthy mailbox stays ready: {body}");
    }

    proxy.cut();
    let took = eventually(
        "unready while the server is unreachable",
        Duration::from_secs(10),
        || async { readyz().await.0 == 503 },
    )
    .await;
    let (_, body) = readyz().await;
    assert!(body.contains("mailbox imap not read recently"), "{body}");
    eprintln!("unreachable: /readyz unready {took:?} after the cut (allowance {allowance:?})");
    // The loop is alive (reconnecting with backoff), so the watchdog is still fed.
    assert!(
        ops.heartbeats.stale(std::time::Instant::now()).is_empty(),
        "a reconnecting loop is not stuck"
    );
    let health = app.store.mailbox_health().await.expect("health");
    assert!(health[0].last_error.is_some(), "{health:?}");

    proxy.restore();
    append(&mut admin, &folder, &invitation("back", 1), None).await;
    eventually(
        "ready again once it is back",
        Duration::from_secs(10),
        || async { readyz().await.0 == 200 },
    )
    .await;
    eventually(
        "and the waiting message ingested",
        Duration::from_secs(10),
        || async { ingested(&app).await == 1 },
    )
    .await;

    stop_tx.send(true).expect("stop");
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the task stops on shutdown")
        .expect("no panic");
    http.await
        .expect("no panic")
        .expect("the server stops cleanly");
}
