//! The store's IMAP state, one story run on both backends: the UID mark advances with the
//! record (and on `AlreadyRecorded`), only upwards, per UIDVALIDITY; Message-ID and content
//! hash dedupe a rescan; attempts count up; quarantine keeps the bytes and moves the mark;
//! health upserts; the lease has one owner at a time and is taken over when expired.

mod common;

use chrono::{DateTime, Duration, Utc};
use dragoman::store::{ImapCursor, IngestDecision, IngestOutcome, IngestedMessage, Store};

fn at(s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_900_000_000 + s, 0).expect("in range")
}

fn msg(key: &str, mid: Option<&str>, sha: &str) -> IngestedMessage {
    IngestedMessage {
        mailbox: "imap".into(),
        source_key: key.into(),
        message_id: mid.map(str::to_string),
        sha256: sha.into(),
    }
}

fn cur(v: u32, uid: u32) -> ImapCursor {
    ImapCursor {
        mailbox: "imap".into(),
        uidvalidity: v,
        uid,
    }
}

fn rejected() -> IngestDecision {
    IngestDecision::Rejected {
        reason: "test".into(),
        emails: vec![],
    }
}

async fn story(store: &dyn Store) {
    let mark = store.imap_mark("imap", 7).await.expect("mark");
    assert_eq!((mark.last_uid, mark.other_uidvalidity), (None, false));

    let r = store
        .record_ingest_at(
            Some(&cur(7, 5)),
            &msg("7:5", Some("a@x"), "h1"),
            &rejected(),
            at(0),
        )
        .await
        .expect("record");
    assert_eq!(r, IngestOutcome::Rejected);
    assert_eq!(
        store.imap_mark("imap", 7).await.expect("mark").last_uid,
        Some(5)
    );
    // Replayed with a lower UID: the mark never goes down; AlreadyRecorded still commits.
    let r = store
        .record_ingest_at(
            Some(&cur(7, 3)),
            &msg("7:5", Some("a@x"), "h1"),
            &rejected(),
            at(1),
        )
        .await
        .expect("record");
    assert_eq!(r, IngestOutcome::AlreadyRecorded);
    assert_eq!(
        store.imap_mark("imap", 7).await.expect("mark").last_uid,
        Some(5)
    );
    let r = store
        .record_ingest_at(
            Some(&cur(7, 9)),
            &msg("7:9", None, "h9"),
            &rejected(),
            at(1),
        )
        .await
        .expect("record");
    assert_eq!(r, IngestOutcome::Rejected);
    assert_eq!(
        store.imap_mark("imap", 7).await.expect("mark").last_uid,
        Some(9)
    );

    // A new UIDVALIDITY: a fresh mark, the change visible, dedupe by Message-ID and by hash.
    let mark = store.imap_mark("imap", 8).await.expect("mark");
    assert_eq!((mark.last_uid, mark.other_uidvalidity), (None, true));
    let r = store
        .record_ingest_at(
            Some(&cur(8, 1)),
            &msg("8:1", Some("a@x"), "other"),
            &rejected(),
            at(2),
        )
        .await
        .expect("record");
    assert_eq!(r, IngestOutcome::AlreadyRecorded, "same Message-ID");
    let r = store
        .record_ingest_at(
            Some(&cur(8, 2)),
            &msg("8:2", None, "h9"),
            &rejected(),
            at(2),
        )
        .await
        .expect("record");
    assert_eq!(r, IngestOutcome::AlreadyRecorded, "same bytes");
    let r = store
        .record_ingest_at(
            Some(&cur(8, 3)),
            &msg("8:3", None, "unread:5"),
            &rejected(),
            at(2),
        )
        .await
        .expect("record");
    assert_eq!(r, IngestOutcome::Rejected);
    let r = store
        .record_ingest_at(
            Some(&cur(8, 4)),
            &msg("8:4", None, "unread:5"),
            &rejected(),
            at(2),
        )
        .await
        .expect("record");
    assert_eq!(
        r,
        IngestOutcome::Rejected,
        "a size-only placeholder never dedupes"
    );
    assert_eq!(
        store.imap_mark("imap", 8).await.expect("mark").last_uid,
        Some(4)
    );

    // Poison: attempts, then quarantine with the bytes; the mark moves past it.
    for n in 1..=3 {
        let a = store
            .ingest_attempt_failed("imap", "8:10", "boom", at(3))
            .await
            .expect("attempt");
        assert_eq!(a, n);
    }
    store
        .quarantine_message(
            Some(&cur(8, 10)),
            &msg("8:10", None, "hp"),
            Some(b"raw\x00bytes"),
            "boom",
            at(3),
        )
        .await
        .expect("quarantine");
    store
        .quarantine_message(
            Some(&cur(8, 10)),
            &msg("8:10", None, "hp"),
            Some(b"raw\x00bytes"),
            "boom",
            at(3),
        )
        .await
        .expect("quarantine is idempotent");
    let q = store.quarantined("imap").await.expect("quarantined");
    assert_eq!(
        q,
        vec![(
            "8:10".to_string(),
            Some(b"raw\x00bytes".to_vec()),
            "boom".to_string()
        )]
    );
    assert!(store
        .message_recorded("imap", "8:10")
        .await
        .expect("recorded"));
    assert_eq!(
        store.imap_mark("imap", 8).await.expect("mark").last_uid,
        Some(10)
    );

    // Health: a contact, then an error keeps the contact.
    store
        .record_mailbox_health("imap", Some(4), None, at(4))
        .await
        .expect("health");
    store
        .record_mailbox_health("imap", None, Some("timeout"), at(5))
        .await
        .expect("health");
    let h = store.mailbox_health().await.expect("health");
    assert_eq!(h.len(), 1);
    assert_eq!((h[0].last_contact_at, h[0].backlog), (Some(at(4)), Some(4)));
    assert_eq!(
        (h[0].last_error.as_deref(), h[0].last_error_at),
        (Some("timeout"), Some(at(5)))
    );

    // Lease: one owner; renewable by it; taken over only once expired; release.
    let until = |s| at(s) + Duration::seconds(10);
    assert!(store
        .acquire_mailbox_lease("imap", "a", at(10), until(10))
        .await
        .expect("lease"));
    assert!(!store
        .acquire_mailbox_lease("imap", "b", at(11), until(11))
        .await
        .expect("lease"));
    assert!(store
        .acquire_mailbox_lease("imap", "a", at(15), until(15))
        .await
        .expect("renew"));
    assert!(!store
        .acquire_mailbox_lease("imap", "b", at(24), until(24))
        .await
        .expect("lease"));
    assert!(store
        .acquire_mailbox_lease("imap", "b", at(25), until(25))
        .await
        .expect("expired: taken"));
    assert_eq!(
        store.mailbox_health().await.expect("health")[0]
            .owner
            .as_deref(),
        Some("b")
    );
    store
        .release_mailbox_lease("imap", "a")
        .await
        .expect("not a's: no-op");
    assert!(!store
        .acquire_mailbox_lease("imap", "a", at(26), until(26))
        .await
        .expect("lease"));
    store
        .release_mailbox_lease("imap", "b")
        .await
        .expect("release");
    assert!(store
        .acquire_mailbox_lease("imap", "a", at(27), until(27))
        .await
        .expect("lease"));
}

#[tokio::test]
async fn imap_state_on_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dragoman::store::connect(&common::fresh_sqlite_url(dir.path()))
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    story(store.as_ref()).await;
}

#[tokio::test]
async fn imap_state_on_postgres() {
    let db = common::fresh_postgres().await;
    let store = dragoman::store::connect(&db.url).await.expect("connect");
    store.migrate().await.expect("migrate");
    story(store.as_ref()).await;
}
