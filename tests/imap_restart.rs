//! The IMAP server restarting under a running mailbox task: a real Dovecot stopped (SIGTERM, as
//! `systemctl restart dovecot` does) and started again, twice, with mail delivered into its
//! Maildir while it was down. Every message is ingested exactly once and marked \Seen, the outage
//! shows in the mailbox health, and the task reconnects by itself.
//!
//! The shared mail stack cannot be restarted (every other test uses it), so this file starts a
//! Dovecot of its own with `scripts/mailstack dovecot-start` in a private state directory on
//! private ports, and stops it when the test ends, even on a panic.

#[path = "common/imap.rs"]
mod imap_common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;

use dragoman::ingest::imap::{ImapMailbox, ImapOptions};
use dragoman::ops::Ops;
use imap_common::*;

/// A Dovecot only this test talks to; stopped on drop.
struct PrivateDovecot {
    dir: PathBuf,
    base: u16,
    _tmp: tempfile::TempDir,
}

/// `scripts/mailstack WHAT` on the private state directory and port base.
fn mailstack_run(dir: &Path, base: u16, what: &str) -> Result<(), String> {
    let out = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/mailstack"))
        .arg(what)
        .env("MAILSTACK_DIR", dir)
        .env("MAILSTACK_PORT_BASE", base.to_string())
        .output()
        .map_err(|e| format!("running scripts/mailstack: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "scripts/mailstack {what} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

impl PrivateDovecot {
    /// Starts one on a free port base (another base when a port is taken).
    fn start() -> PrivateDovecot {
        let tmp = tempfile::tempdir().expect("temp dir");
        // Dovecot's mail user (nobody) must reach the Maildir below the state directory.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod the temp dir");
        let dir = tmp.path().join("stack");
        let mut last = String::new();
        for _ in 0..5 {
            // Every port (base + 12 … base + 993) below the ephemeral range (32768 up), where a
            // client's outgoing connection could hold it while the server is down; above the
            // shared stack's 24000.
            let base = 25_000 + 100 * rand::thread_rng().gen_range(0..67u16);
            match mailstack_run(&dir, base, "dovecot-start") {
                Ok(()) => {
                    return PrivateDovecot {
                        dir,
                        base,
                        _tmp: tmp,
                    }
                }
                Err(e) => last = e,
            }
        }
        panic!("could not start a private Dovecot with scripts/mailstack dovecot-start: {last}");
    }

    fn run(&self, what: &str) -> Result<(), String> {
        mailstack_run(&self.dir, self.base, what)
    }

    fn stop(&self) {
        self.run("dovecot-stop").expect("stop the private Dovecot");
    }

    fn start_again(&self) {
        self.run("dovecot-start")
            .expect("start the private Dovecot again");
    }

    fn imap_port(&self) -> u16 {
        self.base + 143
    }

    /// `folder`'s Maildir `new/` for `user`, where a delivery agent would put mail.
    fn new_dir(&self, user: &str, folder: &str) -> PathBuf {
        self.dir
            .join("mail")
            .join(user)
            .join("Maildir")
            .join(format!(".{folder}"))
            .join("new")
    }
}

impl Drop for PrivateDovecot {
    fn drop(&mut self) {
        let _ = self.run("dovecot-stop");
    }
}

/// Delivers `raw` into the Maildir while Dovecot is down, owned by Dovecot's mail user.
fn deliver_to_maildir(new: &Path, raw: &[u8], n: usize) {
    std::fs::create_dir_all(new).expect("the folder's new/");
    let name = new.join(format!(
        "1800000000.M{n}P{}.restart,S={}",
        std::process::id(),
        raw.len()
    ));
    std::fs::write(&name, raw).expect("write the message");
    let status = Command::new("chown")
        .args(["-R", "nobody:nogroup"])
        .arg(new.parent().expect("the folder"))
        .status()
        .expect("chown");
    assert!(status.success(), "chown the folder to Dovecot's mail user");
}

#[tokio::test]
async fn dovecot_restarting_under_the_daemon_loses_and_doubles_nothing() {
    let shared = mail_env();
    let dovecot = PrivateDovecot::start();
    let env = MailEnv {
        imap_port: dovecot.imap_port(),
        ..shared
    };
    let mut admin = admin(&env, USER).await;
    let folder = fresh_folder(&mut admin).await;
    append(&mut admin, &folder, &invitation("restart", 1), None).await;

    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite://{}/dragoman.db", dir.path().display());
    let toml = format!(
        "[[mailbox]]\nname = \"imap\"\nhost = \"{}\"\nport = {}\ntls = \"none\"\nusername = \"{USER}\"\npassword = \"{}\"\nfolder = \"{folder}\"\n",
        env.host, env.imap_port, env.password,
    );
    let config = write_config(dir.path(), &db, &toml);
    let app = open_app(&config, dir.path()).await;
    let ops = Arc::new(Ops::new(["imap"]));
    let options = ImapOptions {
        connect_timeout: Duration::from_secs(5),
        command_timeout: Duration::from_secs(5),
        idle_silence: Duration::from_secs(60),
        idle_deadline: Duration::from_secs(60),
        poll_every: Duration::from_secs(60),
        backoff_min: Duration::from_millis(100),
        backoff_max: Duration::from_secs(1),
        use_lease: false,
        ..Default::default()
    };
    let mb = ImapMailbox::new(
        "imap",
        imap_of(&app, "imap"),
        app.offers.clone(),
        app.config.clone(),
        options,
    )
    .with_ops(ops.clone());
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(mb.run(async move {
        let _ = stop_rx.wait_for(|s| *s).await;
    }));
    eventually("the first message", Duration::from_secs(15), || async {
        ingested(&app).await == 1
    })
    .await;
    drop(admin);

    let mut n = 1;
    for round in 1..=2 {
        // The task is in IDLE on the server when it goes away.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let errors_before = app.store.mailbox_health().await.expect("health")[0].last_error_at;
        dovecot.stop();
        let stopped_at = Instant::now();
        // Mail keeps arriving while the server is down (a delivery agent writing the Maildir).
        n += 1;
        deliver_to_maildir(
            &dovecot.new_dir(USER, &folder),
            &invitation("restart", n),
            n,
        );
        let store = app.store.clone();
        eventually(
            "the outage in the mailbox health",
            Duration::from_secs(15),
            || async {
                let h = store.mailbox_health().await.expect("health");
                h[0].last_error.is_some() && h[0].last_error_at > errors_before
            },
        )
        .await;
        // Down for a while: several reconnects are refused before it is back.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let restarted_at = Instant::now();
        dovecot.start_again();
        let took = eventually(
            "the message delivered during the outage",
            Duration::from_secs(20),
            || async { ingested(&app).await == n as i64 },
        )
        .await;
        let since_start = restarted_at.elapsed();
        // And the next one, pushed while the task is back in IDLE.
        let mut admin = imap_common::admin(&env, USER).await;
        n += 1;
        append(&mut admin, &folder, &invitation("restart", n), None).await;
        eventually(
            "a message after the restart",
            Duration::from_secs(15),
            || async { ingested(&app).await == n as i64 },
        )
        .await;
        eprintln!(
            "restart {round}: the outage's message ingested {:?} after the start began ({took:?} after it returned; stopped {:?} before)",
            since_start,
            restarted_at - stopped_at
        );
        let _ = admin.logout().await;
    }

    let mut admin = imap_common::admin(&env, USER).await;
    let flags = flags_in(&mut admin, &folder).await;
    assert_eq!(flags.len(), n, "none deleted, none added: {flags:?}");
    assert!(flags.iter().all(|(_, seen)| *seen), "all marked: {flags:?}");
    // Exactly once: as many requests as messages, and no further ingest after a last sweep.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(ingested(&app).await, n as i64, "nothing ingested twice");
    let status = app.store.status(chrono::Utc::now()).await.expect("status");
    let requests: i64 = status.requests.iter().map(|(_, count)| count).sum();
    assert_eq!(requests, n as i64, "one request per message: {status:?}");
    assert!(
        ops.unready_mailboxes(Instant::now()).is_empty(),
        "contacted again after the restarts"
    );

    stop_tx.send(true).expect("stop");
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the task stops on shutdown")
        .expect("no panic");
}
