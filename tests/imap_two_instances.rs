//! Two instances on one PostgreSQL database watching one IMAP folder: exactly one watches at a
//! time (the lease), nothing is recorded twice, and when the watcher dies without a word the
//! other takes over within `lease + lease / 3`.

mod common;
#[path = "common/imap.rs"]
mod imap_common;

use std::time::{Duration, Instant};

use dragoman::ingest::imap::{ImapMailbox, ImapOptions};
use imap_common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_postgres_never_double_and_take_over_when_one_dies() {
    let env = mail_env();
    let db = common::fresh_postgres().await;
    let mut admin = admin(&env, USER).await;
    let folder = fresh_folder(&mut admin).await;
    for n in 0..20 {
        append(&mut admin, &folder, &invitation("two", n), None).await;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let config = write_config(
        tmp.path(),
        &db.url,
        &mailbox_toml(&env, "imap", &folder, "none", None),
    );
    // Two processes' worth: separate pools, separate owners.
    let a = open_app(&config, tmp.path()).await;
    let b = open_app(&config, tmp.path()).await;
    let lease = Duration::from_millis(1500);
    let watcher = |app: &dragoman::app::App, owner: &str| {
        let options = ImapOptions {
            connect_timeout: Duration::from_secs(5),
            command_timeout: Duration::from_secs(5),
            idle_silence: Duration::from_secs(60),
            idle_deadline: Duration::from_secs(60),
            backoff_min: Duration::from_millis(50),
            backoff_max: Duration::from_millis(200),
            use_lease: true,
            lease,
            owner: owner.to_string(),
            ..Default::default()
        };
        let mb = ImapMailbox::new(
            "imap",
            imap_of(app, "imap"),
            app.offers.clone(),
            app.config.clone(),
            options,
        );
        tokio::spawn(mb.run(std::future::pending::<()>()))
    };
    let task_a = watcher(&a, "instance-a");
    let task_b = watcher(&b, "instance-b");
    let store = a.store.clone();
    let ingested = || {
        let store = store.clone();
        async move {
            store
                .status(chrono::Utc::now())
                .await
                .expect("status")
                .messages_ingested
        }
    };
    eventually("the backlog", Duration::from_secs(20), || async {
        ingested().await >= 20
    })
    .await;
    let owner = store.mailbox_health().await.expect("health")[0]
        .owner
        .clone()
        .expect("a watcher holds the lease");

    // The watcher dies without releasing anything.
    let (dead, survivor) = if owner == "instance-a" {
        (task_a, task_b)
    } else {
        (task_b, task_a)
    };
    dead.abort();
    let _ = dead.await;
    let died = Instant::now();
    for n in 20..25 {
        append(&mut admin, &folder, &invitation("two", n), None).await;
    }
    eventually(
        "the other instance takes over and ingests the new mail",
        lease + lease / 3 + Duration::from_secs(4),
        || async { ingested().await >= 25 },
    )
    .await;
    eprintln!(
        "takeover: new mail committed {:?} after the watcher died",
        died.elapsed()
    );
    let new_owner = store.mailbox_health().await.expect("health")[0]
        .owner
        .clone()
        .expect("a watcher holds the lease");
    assert_ne!(new_owner, owner, "the survivor took the lease");
    assert_eq!(ingested().await, 25, "nothing recorded twice");
    let flags = flags_in(&mut admin, &folder).await;
    assert_eq!(flags.len(), 25, "nothing deleted");
    survivor.abort();
    let _ = survivor.await;
}
