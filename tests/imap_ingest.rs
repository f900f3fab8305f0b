//! IMAP ingest against the real Dovecot of `scripts/mailstack`: TLS (implicit, STARTTLS, a
//! wrong CA refused), the UID sweep and commit, \Seen set by a human, MOVE after commit,
//! IDLE push, UIDVALIDITY change without duplicates, the size cap, and a silent connection
//! recovered within the bound. Each test works in its own folder; none sleeps to wait.

#[path = "common/imap.rs"]
mod imap_common;

use std::time::Duration;

use dragoman::app::App;
use dragoman::ingest::imap::{ImapError, ImapMailbox, ImapOptions};
use imap_common::*;

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

struct Scene {
    _dir: tempfile::TempDir,
    app: App,
    env: MailEnv,
    admin: Admin,
    folder: String,
}

/// A fresh folder and an App (SQLite) watching it as mailbox "imap".
async fn scene(tls: &str, processed: bool, extra: &str) -> Scene {
    let env = mail_env();
    let mut admin = admin(&env, USER).await;
    let folder = fresh_folder(&mut admin).await;
    let processed_folder = if processed {
        let p = format!("{folder}_done");
        admin.create(&p).await.expect("CREATE processed");
        Some(p)
    } else {
        None
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite://{}/dragoman.db", dir.path().display());
    let mailbox = mailbox_toml(&env, "imap", &folder, tls, processed_folder.as_deref());
    let config = write_config(dir.path(), &db, &format!("{extra}\n{mailbox}"));
    let app = open_app(&config, dir.path()).await;
    Scene {
        _dir: dir,
        app,
        env,
        admin,
        folder,
    }
}

fn mailbox(s: &Scene, options: ImapOptions) -> ImapMailbox {
    ImapMailbox::new(
        "imap",
        imap_of(&s.app, "imap"),
        s.app.offers.clone(),
        s.app.config.clone(),
        options,
    )
}

#[tokio::test]
async fn implicit_tls_login_sweep_commit_then_seen_and_a_human_seen_message_still_ingested() {
    let mut s = scene("implicit", false, "").await;
    let folder = s.folder.clone();
    append(&mut s.admin, &folder, &invitation("tls", 1), None).await;
    // Read by a human before dragoman saw it: \Seen must not hide it (F8).
    append(
        &mut s.admin,
        &folder,
        &invitation("tls", 2),
        Some("(\\Seen)"),
    )
    .await;
    append(&mut s.admin, &folder, &invitation("tls", 3), None).await;

    let mb = mailbox(&s, fast_options());
    let mut session = mb.connect().await.expect("implicit TLS with the test CA");
    let report = mb
        .sweep(&mut session, chrono::Utc::now())
        .await
        .expect("sweep");
    assert_eq!((report.seen, report.created), (3, 3), "{report:?}");
    let again = mb
        .sweep(&mut session, chrono::Utc::now())
        .await
        .expect("sweep");
    assert_eq!(
        again.seen, 0,
        "the mark moved past every committed UID: {again:?}"
    );

    let flags = flags_in(&mut s.admin, &folder).await;
    assert_eq!(flags.len(), 3, "never deleted");
    assert!(
        flags.iter().all(|(_, seen)| *seen),
        "\\Seen set after commit: {flags:?}"
    );
    let keys: Vec<String> = flags
        .iter()
        .map(|(uid, _)| format!("{}:{uid}", session.uidvalidity))
        .collect();
    assert_eq!(recorded(&s.app, "imap", &keys).await, 3);
    let status = s
        .app
        .store
        .status(chrono::Utc::now())
        .await
        .expect("status");
    assert_eq!(status.messages_ingested, 3);
    let health = s.app.store.mailbox_health().await.expect("health");
    assert!(
        health[0].last_contact_at.is_some() && health[0].backlog == Some(0),
        "{health:?}"
    );
    mb.logout(session).await;
}

#[tokio::test]
async fn starttls_works_and_moves_to_the_processed_folder_after_commit() {
    let mut s = scene("starttls", true, "").await;
    let folder = s.folder.clone();
    append(&mut s.admin, &folder, &invitation("starttls", 1), None).await;
    let mb = mailbox(&s, fast_options());
    let mut session = mb.connect().await.expect("STARTTLS with the test CA");
    let report = mb
        .sweep(&mut session, chrono::Utc::now())
        .await
        .expect("sweep");
    assert_eq!(report.committed(), 1, "{report:?}");
    assert!(
        flags_in(&mut s.admin, &folder).await.is_empty(),
        "moved out"
    );
    assert_eq!(
        flags_in(&mut s.admin, &format!("{folder}_done"))
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn a_wrong_ca_is_refused_for_implicit_tls_and_starttls() {
    for tls in ["implicit", "starttls"] {
        let s = scene(tls, false, "").await;
        let mut cfg = imap_of(&s.app, "imap");
        cfg.ca_file = Some(s.env.wrong_ca.clone());
        let mb = ImapMailbox::new(
            "imap",
            cfg,
            s.app.offers.clone(),
            s.app.config.clone(),
            fast_options(),
        );
        match mb.connect().await {
            Err(ImapError::Tls(_)) => {}
            Err(other) => panic!("{tls}: expected a TLS error, got {other}"),
            Ok(_) => panic!("{tls}: a certificate from another CA was accepted"),
        }
    }
}

#[tokio::test]
async fn idle_push_ingests_without_waiting_for_a_poll() {
    let mut s = scene("implicit", false, "").await;
    let folder = s.folder.clone();
    // Any sweep other than one woken by IDLE would come after 60 s: far beyond the deadline.
    let mb = mailbox(&s, fast_options());
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(mb.run(async move {
        let _ = stop_rx.wait_for(|s| *s).await;
    }));
    let store = s.app.store.clone();
    eventually("the first sweep", Duration::from_secs(10), || async {
        store
            .mailbox_health()
            .await
            .expect("health")
            .iter()
            .any(|h| h.last_contact_at.is_some())
    })
    .await;
    append(&mut s.admin, &folder, &invitation("idle", 1), None).await;
    let took = eventually(
        "the pushed message committed",
        Duration::from_secs(5),
        || async {
            store
                .status(chrono::Utc::now())
                .await
                .expect("status")
                .messages_ingested
                == 1
        },
    )
    .await;
    eprintln!("IDLE push: committed {took:?} after APPEND");
    stop_tx.send(true).expect("stop");
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the task stops on shutdown")
        .expect("no panic");
}

#[tokio::test]
async fn uidvalidity_change_rescans_without_duplicates() {
    let mut s = scene("none", false, "").await;
    let folder = s.folder.clone();
    let (m1, m2, m3) = (
        invitation("uv", 1),
        invitation("uv", 2),
        invitation("uv", 3),
    );
    append(&mut s.admin, &folder, &m1, None).await;
    append(&mut s.admin, &folder, &m2, None).await;
    let mb = mailbox(&s, fast_options());
    let mut session = mb.connect().await.expect("connect");
    let first = session.uidvalidity;
    let r = mb
        .sweep(&mut session, chrono::Utc::now())
        .await
        .expect("sweep");
    assert_eq!(r.committed(), 2);
    mb.logout(session).await;

    // The folder is deleted and recreated (a migration): same messages, new UIDVALIDITY.
    s.admin.delete(&folder).await.expect("DELETE");
    s.admin.create(&folder).await.expect("CREATE");
    append(&mut s.admin, &folder, &m1, None).await;
    append(&mut s.admin, &folder, &m2, None).await;
    append(&mut s.admin, &folder, &m3, None).await;
    let mut session = mb.connect().await.expect("connect");
    assert_ne!(
        session.uidvalidity, first,
        "Dovecot gave the new folder a new UIDVALIDITY"
    );
    let r = mb
        .sweep(&mut session, chrono::Utc::now())
        .await
        .expect("sweep");
    assert_eq!((r.seen, r.already, r.committed()), (3, 2, 1), "{r:?}");
    let status = s
        .app
        .store
        .status(chrono::Utc::now())
        .await
        .expect("status");
    assert_eq!(status.messages_ingested, 3, "each message recorded once");
    let requests: i64 = status.requests.iter().map(|(_, n)| n).sum();
    assert_eq!(
        requests, 3,
        "one request per invitation, none doubled by the rescan"
    );
}

#[tokio::test]
async fn a_30_mb_message_is_refused_without_fetching_it_and_the_next_flows() {
    let mut s = scene("none", false, "").await;
    let folder = s.folder.clone();
    let mut big = invitation("big", 1);
    big.extend(std::iter::repeat_n(b'x', 30 * 1024 * 1024));
    big.extend_from_slice(b"\r\n");
    append(&mut s.admin, &folder, &big, None).await;
    append(&mut s.admin, &folder, &invitation("big", 2), None).await;
    let mb = mailbox(&s, fast_options());
    let mut session = mb.connect().await.expect("connect");
    let r = mb
        .sweep(&mut session, chrono::Utc::now())
        .await
        .expect("sweep");
    assert_eq!((r.oversized, r.committed()), (1, 1), "{r:?}");
    let status = s
        .app
        .store
        .status(chrono::Utc::now())
        .await
        .expect("status");
    assert_eq!(status.messages_ingested, 2);
    // The sender is told, through the outbox, threaded with their message: the body was
    // never fetched, only the header.
    let now = chrono::Utc::now();
    let jobs = s
        .app
        .store
        .claim_outbox(now, now + chrono::Duration::minutes(1), 100)
        .await
        .expect("claim");
    let notices: Vec<_> = jobs
        .iter()
        .filter(|j| j.email.kind == "not_understood")
        .collect();
    assert_eq!(notices.len(), 1, "one too-large notice: {jobs:#?}");
    let notice = &notices[0].email;
    assert_eq!(notice.to.as_str(), "ruiz@clinic.example");
    assert!(
        notice.text.contains("over our limit"),
        "says why: {}",
        notice.text
    );
    assert!(
        notice
            .in_reply_to
            .as_deref()
            .is_some_and(|id| id.starts_with("big-1-")),
        "threaded: {:?}",
        notice.in_reply_to
    );
}

#[tokio::test]
async fn an_oversized_auto_reply_or_bounce_gets_no_notice() {
    let mut s = scene("none", false, "[limits]\nmax_message_bytes = 200000\n").await;
    let folder = s.folder.clone();
    let cap = s.app.config.limits.max_message_bytes;
    let padding = |mut m: Vec<u8>| {
        m.extend(std::iter::repeat_n(b'x', cap + 1));
        m.extend_from_slice(b"\r\n");
        m
    };
    let auto = String::from_utf8(invitation("auto", 1))
        .expect("ascii")
        .replacen("Subject:", "Auto-Submitted: auto-replied\r\nSubject:", 1);
    append(&mut s.admin, &folder, &padding(auto.into_bytes()), None).await;
    let bounce = String::from_utf8(invitation("bounce", 1))
        .expect("ascii")
        .replacen(
            "From: Dr. Ruiz <ruiz@clinic.example>",
            "From: Mail Delivery System <MAILER-DAEMON@clinic.example>",
            1,
        );
    append(&mut s.admin, &folder, &padding(bounce.into_bytes()), None).await;
    let mb = mailbox(&s, fast_options());
    let mut session = mb.connect().await.expect("connect");
    let r = mb
        .sweep(&mut session, chrono::Utc::now())
        .await
        .expect("sweep");
    assert_eq!(r.oversized, 2, "{r:?}");
    let now = chrono::Utc::now();
    let jobs = s
        .app
        .store
        .claim_outbox(now, now + chrono::Duration::minutes(1), 100)
        .await
        .expect("claim");
    assert!(jobs.is_empty(), "loop safety first: {jobs:#?}");
}

#[tokio::test]
async fn a_silent_connection_is_dropped_and_recovered_within_the_bound() {
    let mut s = scene("none", false, "").await;
    let folder = s.folder.clone();
    let proxy = Proxy::start((s.env.host.clone(), s.env.imap_port)).await;
    let mut cfg = imap_of(&s.app, "imap");
    cfg.port = proxy.port;
    let options = ImapOptions {
        idle_silence: Duration::from_millis(1500),
        idle_deadline: Duration::from_secs(60),
        command_timeout: Duration::from_secs(1),
        ..fast_options()
    };
    let mb = ImapMailbox::new(
        "imap",
        cfg,
        s.app.offers.clone(),
        s.app.config.clone(),
        options,
    );
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(mb.run(async move {
        let _ = stop_rx.wait_for(|s| *s).await;
    }));
    let store = s.app.store.clone();
    eventually("the first sweep", Duration::from_secs(10), || async {
        store
            .mailbox_health()
            .await
            .expect("health")
            .iter()
            .any(|h| h.last_contact_at.is_some())
    })
    .await;
    proxy.freeze(); // the connection in IDLE goes silent: no EXISTS will ever arrive on it
    append(&mut s.admin, &folder, &invitation("silent", 1), None).await;
    // Bound: silence 1.5 s + DONE timeout 1 s + backoff ≤ 0.2 s + reconnect.
    let took = eventually(
        "recovered and committed",
        Duration::from_secs(8),
        || async {
            store
                .status(chrono::Utc::now())
                .await
                .expect("status")
                .messages_ingested
                == 1
        },
    )
    .await;
    eprintln!("silent connection: recovered and committed in {took:?}");
    assert!(
        proxy.connections.load(std::sync::atomic::Ordering::SeqCst) >= 2,
        "a new connection was made"
    );
    let health = store.mailbox_health().await.expect("health");
    assert!(
        health[0].last_error.is_some(),
        "the drop is in the health: {health:?}"
    );
    stop_tx.send(true).expect("stop");
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the task stops on shutdown")
        .expect("no panic");
}

#[tokio::test]
async fn a_poison_message_is_quarantined_with_its_bytes_while_the_next_ones_flow() {
    let mut s = scene("none", false, "").await;
    let folder = s.folder.clone();
    let mut poison = invitation("poison", 2);
    poison.extend_from_slice(b"POISON\r\n");
    append(&mut s.admin, &folder, &invitation("poison", 1), None).await;
    append(&mut s.admin, &folder, &poison, None).await;
    append(&mut s.admin, &folder, &invitation("poison", 3), None).await;
    let options = ImapOptions {
        fail_if: Some(|raw: &[u8]| raw.windows(6).any(|w| w == b"POISON")),
        max_attempts: 3,
        ..fast_options()
    };
    let mb = mailbox(&s, options);
    let mut session = mb.connect().await.expect("connect");
    let r = mb
        .sweep(&mut session, chrono::Utc::now())
        .await
        .expect("sweep");
    assert_eq!((r.committed(), r.quarantined), (2, 1), "{r:?}");
    let q = s.app.store.quarantined("imap").await.expect("quarantine");
    assert_eq!(q.len(), 1);
    assert_eq!(
        q[0].1.as_deref(),
        Some(poison.as_slice()),
        "the raw bytes are kept"
    );
    assert!(q[0].2.contains("injected failure"), "{:?}", q[0].2);
    let again = mb
        .sweep(&mut session, chrono::Utc::now())
        .await
        .expect("sweep");
    assert_eq!(again.seen, 0, "moved past it: {again:?}");
    let flags = flags_in(&mut s.admin, &folder).await;
    assert_eq!(flags.len(), 3, "nothing deleted");
}

#[tokio::test]
async fn auto_replies_and_bounces_are_recorded_and_produce_nothing() {
    let mut s = scene("none", false, "").await;
    let folder = s.folder.clone();
    let auto_reply = b"From: Dr. Ruiz <ruiz@clinic.example>\r\nTo: es-en@agency.test\r\n\
Subject: Out of office\r\nAuto-Submitted: auto-replied\r\nMessage-ID: <ooo-1@clinic.example>\r\n\r\n\
I am away. https://us02web.zoom.us/j/81234567890?pwd=abc.1\r\n";
    let bounce = b"Return-Path: <>\r\nFrom: MAILER-DAEMON@clinic.example\r\nTo: es-en@agency.test\r\n\
Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <bounce-1@clinic.example>\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n--b\r\n\r\ngone\r\n--b--\r\n";
    append(&mut s.admin, &folder, auto_reply, None).await;
    append(&mut s.admin, &folder, bounce, None).await;
    let mb = mailbox(&s, fast_options());
    let mut session = mb.connect().await.expect("connect");
    let r = mb
        .sweep(&mut session, chrono::Utc::now())
        .await
        .expect("sweep");
    assert_eq!((r.rejected, r.created), (2, 0), "{r:?}");
    let status = s
        .app
        .store
        .status(chrono::Utc::now())
        .await
        .expect("status");
    assert_eq!(
        (
            status.outbox_pending,
            status.outbox_sent,
            status.outbox_failed
        ),
        (0, 0, 0),
        "no reply to automated mail"
    );
}

#[tokio::test]
async fn shutdown_is_bounded_even_when_the_connection_went_silent() {
    let s = scene("none", false, "").await;
    let proxy = Proxy::start((s.env.host.clone(), s.env.imap_port)).await;
    let mut cfg = imap_of(&s.app, "imap");
    cfg.port = proxy.port;
    let options = ImapOptions {
        command_timeout: Duration::from_secs(1),
        ..fast_options()
    };
    let mb = ImapMailbox::new(
        "imap",
        cfg,
        s.app.offers.clone(),
        s.app.config.clone(),
        options,
    );
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(mb.run(async move {
        let _ = stop_rx.wait_for(|s| *s).await;
    }));
    let store = s.app.store.clone();
    eventually("the first sweep", Duration::from_secs(10), || async {
        store
            .mailbox_health()
            .await
            .expect("health")
            .iter()
            .any(|h| h.last_contact_at.is_some())
    })
    .await;
    proxy.freeze(); // DONE and LOGOUT will never be answered (F2)
    stop_tx.send(true).expect("stop");
    let started = std::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("stops within DONE's and LOGOUT's timeouts")
        .expect("no panic");
    eprintln!(
        "shutdown on a silent connection took {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_mailboxes_at_once_each_with_its_own_task() {
    let env = mail_env();
    let mut admin = admin(&env, USER).await;
    let mut folders = Vec::new();
    let mut tables = String::new();
    for i in 0..10 {
        let f = fresh_folder(&mut admin).await;
        tables.push_str(&mailbox_toml(&env, &format!("m{i}"), &f, "implicit", None));
        folders.push(f);
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite://{}/dragoman.db", dir.path().display());
    let app = open_app(&write_config(dir.path(), &db, &tables), dir.path()).await;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let tasks = app.spawn_imap(&stop_rx);
    assert_eq!(tasks.len(), 10, "one task per IMAP mailbox");
    for (i, f) in folders.iter().enumerate() {
        append(&mut admin, f, &invitation("ten", i), None).await;
    }
    let store = app.store.clone();
    eventually(
        "every mailbox's message",
        Duration::from_secs(15),
        || async {
            store
                .status(chrono::Utc::now())
                .await
                .expect("status")
                .messages_ingested
                == 10
        },
    )
    .await;
    let health = store.mailbox_health().await.expect("health");
    assert_eq!(health.len(), 10, "health per mailbox: {health:?}");
    stop_tx.send(true).expect("stop");
    for t in tasks {
        tokio::time::timeout(Duration::from_secs(10), t)
            .await
            .expect("stops")
            .expect("no panic");
    }
}

/// A calendar invitation (`text/calendar` body) for one fixed meeting and UID.
fn calendar(sequence: i64, start: &str, tag: &str) -> Vec<u8> {
    let uid = tag.split('#').next().unwrap_or(tag);
    let mid = tag.replace('#', "-");
    format!(
        "From: Dr Lee <lee@clinic.example>\r\nTo: es-en@agency.test\r\n\
         Subject: Invitation: Cardiology follow-up\r\nMessage-ID: <{mid}@clinic.example>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/calendar; method=REQUEST; charset=UTF-8\r\n\r\n\
         BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nPRODID:test\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\n\
         UID:{uid}@clinic.example\r\nSEQUENCE:{sequence}\r\nDTSTART:{start}\r\n\
         SUMMARY:Cardiology follow-up\r\n\
         DESCRIPTION:Join Zoom Meeting\\nhttps://us02web.zoom.us/j/81234567890?pwd=abcDEF123\\n\\nMeeting ID: 812 3456 7890\\nPasscode: 123456\\n\r\n\
         LOCATION:https://us02web.zoom.us/j/81234567890?pwd=abcDEF123\r\n\
         END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    .into_bytes()
}

/// A backlog is drained with each message's decision made while the one before commits; the
/// results are those of one message at a time: the daily reply cap is exact for a sender with
/// many messages in a row, and a calendar update right behind the invitation it updates moves
/// that request instead of making a second one.
#[tokio::test]
async fn a_backlog_decided_ahead_keeps_the_reply_cap_and_calendar_order() {
    let mut s = scene("none", false, "").await;
    let folder = s.folder.clone();
    for n in 1..=8 {
        append(&mut s.admin, &folder, &invitation("ahead", n), None).await;
    }
    let tag = format!("cal-{}", random_name());
    append(
        &mut s.admin,
        &folder,
        &calendar(0, "20300603T140000Z", &tag),
        None,
    )
    .await;
    // Same UID, its own Message-ID.
    let update = calendar(1, "20300603T160000Z", &format!("{tag}#2"));
    append(&mut s.admin, &folder, &update, None).await;
    let mb = mailbox(&s, fast_options());
    let mut session = mb.connect().await.expect("connect");
    let now = chrono::Utc::now();
    let r = mb.sweep(&mut session, now).await.expect("sweep");
    assert!(r.decided_ahead >= 3, "decisions were made ahead: {r:?}");
    let requests = s.app.store.list_requests().await.expect("requests");
    let replies = s
        .app
        .store
        .replies_since(
            &dragoman::domain::EmailAddress::parse("ruiz@clinic.example").unwrap(),
            now - chrono::Duration::hours(1),
        )
        .await
        .expect("count");
    assert_eq!(
        replies, 5,
        "exactly the daily cap of automatic replies: {r:?}"
    );
    let meeting: Vec<_> = requests
        .iter()
        .filter(|q| q.meeting.meeting_id.as_deref() == Some("81234567890"))
        .collect();
    assert_eq!(
        meeting.len(),
        1,
        "one request for the calendar event: {r:?}"
    );
    assert_eq!(
        meeting[0].meeting.start.map(|t| t.to_rfc3339()),
        Some("2030-06-03T16:00:00+00:00".to_string()),
        "the update moved it: {r:?}"
    );
    assert_eq!((r.created, r.rejected), (9, 1), "{r:?}");
    mb.logout(session).await;
}

/// Six invitations from six senders (no decision depends on another's automatic reply, so
/// they are one run, committed as one group when `group_min` is 10).
async fn six_senders(s: &mut Scene, tag: &str) {
    let folder = s.folder.clone();
    for n in 1..=6 {
        let raw = String::from_utf8(invitation(tag, n))
            .expect("ASCII")
            .replace("<ruiz@", &format!("<ruiz{n}@"));
        append(&mut s.admin, &folder, raw.as_bytes(), None).await;
    }
}

async fn scene_db(s: &Scene) -> sqlx::SqliteConnection {
    use sqlx::Connection;
    let url = format!("sqlite://{}/dragoman.db", s._dir.path().display());
    sqlx::SqliteConnection::connect(&url)
        .await
        .expect("open the database")
}

/// (messages, requests, "received" replies) in the scene's database.
async fn counts(db: &mut sqlx::SqliteConnection) -> (i64, i64, i64) {
    sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM messages WHERE mailbox = 'imap'),
                (SELECT COUNT(*) FROM requests),
                (SELECT COUNT(*) FROM outbox WHERE kind = 'received')",
    )
    .fetch_one(db)
    .await
    .expect("count")
}

/// A group commit that fails because of one of its messages loses and doubles nothing: the
/// database refuses the third message's reply (a unique index the test adds), so the group's
/// transaction rolls back; its messages are then committed one at a time, the refused one is
/// quarantined after its attempts, and every other one is recorded exactly once, answered
/// once and marked \Seen.
#[tokio::test]
async fn a_failed_group_commit_loses_and_doubles_nothing() {
    let mut s = scene("none", false, "").await;
    let folder = s.folder.clone();
    let tag = format!("grp{}", random_name());
    six_senders(&mut s, &tag).await;
    let mut db = scene_db(&s).await;
    for sql in [
        "INSERT INTO outbox (message_id, kind, recipient, subject, body_text, body_html, state,
                             attempts, next_attempt_at, created_at)
         VALUES ('test-only', 'test', 'ruiz3@clinic.example', 's', 't', 'h', 'sent', 0, 0, 0)",
        "CREATE UNIQUE INDEX refuse_third ON outbox (recipient)
         WHERE recipient = 'ruiz3@clinic.example'",
    ] {
        sqlx::query(sql).execute(&mut db).await.expect("set up");
    }
    let mb = mailbox(
        &s,
        ImapOptions {
            group_min: 10,
            max_attempts: 2,
            ..fast_options()
        },
    );
    let mut session = mb.connect().await.expect("connect");
    let r = mb
        .sweep(&mut session, chrono::Utc::now())
        .await
        .expect("sweep");
    assert_eq!((r.created, r.quarantined, r.grouped), (5, 1, 0), "{r:?}");
    assert_eq!(r.decided_ahead, 5, "all six were one run: {r:?}");
    assert_eq!(
        counts(&mut db).await,
        (6, 5, 5),
        "each message recorded once, each request answered once"
    );
    let q = s.app.store.quarantined("imap").await.expect("quarantine");
    assert_eq!(q.len(), 1);
    assert!(
        q[0].2.contains("refuse_third") || q[0].2.contains("UNIQUE"),
        "{:?}",
        q[0].2
    );
    let flags = flags_in(&mut s.admin, &folder).await;
    assert_eq!(flags.len(), 6, "nothing deleted");
    assert!(flags.iter().all(|(_, seen)| *seen), "all marked: {flags:?}");
    let again = mb
        .sweep(&mut session, chrono::Utc::now())
        .await
        .expect("sweep");
    assert_eq!(again.seen, 0, "the mark is past all six: {again:?}");
    mb.logout(session).await;
}

/// A group commit the database fails (not the messages' fault: here a trigger, standing for
/// a database gone away mid-transaction) leaves nothing half-done: no message, mark or
/// \Seen; the next sweep, once the database works, records each exactly once.
#[tokio::test]
async fn a_group_commit_the_database_fails_leaves_nothing_half_done() {
    let mut s = scene("none", false, "").await;
    let folder = s.folder.clone();
    let tag = format!("grp{}", random_name());
    six_senders(&mut s, &tag).await;
    let mut db = scene_db(&s).await;
    sqlx::query(&format!(
        "CREATE TRIGGER refuse_third BEFORE INSERT ON messages
         WHEN NEW.message_id LIKE '%{tag}-3-%'
         BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
    ))
    .execute(&mut db)
    .await
    .expect("create the trigger");
    let mb = mailbox(
        &s,
        ImapOptions {
            group_min: 10,
            ..fast_options()
        },
    );
    let mut session = mb.connect().await.expect("connect");
    let failed = mb.sweep(&mut session, chrono::Utc::now()).await;
    assert!(
        matches!(failed, Err(ImapError::Store(_))),
        "the sweep is retried later: {failed:?}"
    );
    assert_eq!(counts(&mut db).await, (0, 0, 0), "nothing of the group");
    let mark = s
        .app
        .store
        .imap_mark("imap", session.uidvalidity)
        .await
        .expect("mark");
    assert_eq!(mark.last_uid, None, "the mark did not move");
    let flags = flags_in(&mut s.admin, &folder).await;
    assert!(
        flags.iter().all(|(_, seen)| !seen),
        "nothing marked: {flags:?}"
    );

    sqlx::query("DROP TRIGGER refuse_third")
        .execute(&mut db)
        .await
        .expect("drop the trigger");
    let mut session = mb.connect().await.expect("reconnect");
    let r = mb
        .sweep(&mut session, chrono::Utc::now())
        .await
        .expect("sweep");
    assert_eq!((r.created, r.grouped), (6, 6), "{r:?}");
    assert_eq!(counts(&mut db).await, (6, 6, 6), "each exactly once");
    let flags = flags_in(&mut s.admin, &folder).await;
    assert!(flags.iter().all(|(_, seen)| *seen), "all marked: {flags:?}");
    mb.logout(session).await;
}

/// Without a failure, a backlog of independent messages is committed in groups, with the
/// same results as one at a time.
#[tokio::test]
async fn a_backlog_is_committed_in_groups() {
    let mut s = scene("none", false, "").await;
    let folder = s.folder.clone();
    let tag = format!("grp{}", random_name());
    let mut first = String::new();
    for n in 1..=12 {
        let raw = String::from_utf8(invitation(&tag, n))
            .expect("ASCII")
            .replace("<ruiz@", &format!("<ruiz{n}@"));
        append(&mut s.admin, &folder, raw.as_bytes(), None).await;
        if n == 1 {
            first = raw;
        }
    }
    // The first meeting again, from another sender with its own Message-ID: a duplicate
    // meeting, as one at a time.
    let again = first
        .replace("<ruiz1@", "<ruiz13@")
        .replace("Message-ID: <", "Message-ID: <again-");
    append(&mut s.admin, &folder, again.as_bytes(), None).await;
    let mb = mailbox(&s, fast_options());
    let mut session = mb.connect().await.expect("connect");
    let r = mb
        .sweep(&mut session, chrono::Utc::now())
        .await
        .expect("sweep");
    assert_eq!((r.created, r.duplicates), (12, 1), "{r:?}");
    assert!(r.grouped >= 4, "committed in groups: {r:?}");
    let requests = s.app.store.list_requests().await.expect("requests");
    assert_eq!(requests.len(), 12);
    let flags = flags_in(&mut s.admin, &folder).await;
    assert!(flags.iter().all(|(_, seen)| *seen), "all marked: {flags:?}");
    mb.logout(session).await;
}
