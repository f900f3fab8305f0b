//! The matching engine end to end on both databases (issue #5): waves timed from the start,
//! a decline bringing the next wave forward, no interpreter offered twice, hundreds of
//! concurrent accepts and declines across waves with exactly one winner, a stale wave timer
//! changing nothing, a restart in the middle of a wave, the deadline notice and the close,
//! the pause after unanswered offers, and `explain`'s rows.
//!
//! Drives `Offers::dispatch_step` with its own clock (never sleeps); reads what would be mailed
//! from the outbox the way the worker does.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use dragoman::config::Config;
use dragoman::domain::{EmailAddress, LanguagePair, Meeting, NewInterpreter, RequestState};
use dragoman::offers::{AcceptResult, Offers};
use dragoman::outbox::templates::Templates;
use dragoman::store::{DeclineOutcome, IngestOutcome, IngestedMessage, NewRequest, Store};

struct World {
    store: Arc<dyn Store>,
    offers: Arc<Offers>,
    config: Config,
    dir: tempfile::TempDir,
}

async fn world(url: &str, tweak: impl FnOnce(&mut Config)) -> World {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config::embedded(dir.path());
    config.database.url = url.to_string();
    config.matching.coordinator = Some(EmailAddress::parse("coord@agency.test").unwrap());
    tweak(&mut config);
    let store = dragoman::store::connect(url).await.expect("store opens");
    store.migrate().await.expect("migrations apply");
    let templates = Arc::new(Templates::load(None).expect("templates"));
    let offers = Arc::new(Offers::new(store.clone(), templates, &config));
    World {
        store,
        offers,
        config,
        dir,
    }
}

impl World {
    /// Reconnects as a restarted process would: a new store and a new `Offers`.
    async fn restart(self) -> World {
        let store = dragoman::store::connect(&self.config.database.url)
            .await
            .expect("store reopens");
        let templates = Arc::new(Templates::load(None).expect("templates"));
        let offers = Arc::new(Offers::new(store.clone(), templates, &self.config));
        World {
            store,
            offers,
            config: self.config,
            dir: self.dir,
        }
    }

    async fn roster(&self, n: usize, online: bool, now: DateTime<Utc>) -> Vec<i64> {
        let mut ids = Vec::new();
        for i in 0..n {
            let added = self
                .store
                .add_interpreter(
                    &NewInterpreter {
                        name: format!("Int{i} Example"),
                        email: EmailAddress::parse(&format!("int{i}@interpreters.test")).unwrap(),
                        pairs: vec![LanguagePair::parse("es:en").unwrap()],
                        timezone: "UTC".into(),
                    },
                    now,
                )
                .await
                .expect("add");
            if online {
                self.store
                    .set_presence(added.id, Some(now + Duration::hours(12)))
                    .await
                    .expect("presence");
            }
            ids.push(added.id);
        }
        ids
    }

    async fn request(&self, key: &str, start: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
        let meeting = Meeting {
            meeting_id: Some(format!(
                "8{:010}",
                key.len() * 7919 + key.as_bytes()[0] as usize
            )),
            passcode: Some("pw".into()),
            join_url: format!("https://zoom.us/j/{key}"),
            host: "zoom.us".into(),
            kind: "meeting".into(),
            topic: Some(format!("Topic {key}")),
            start: Some(start),
            timezone: Some("UTC".into()),
        };
        let decision = self
            .offers
            .plan_request(
                NewRequest {
                    meeting,
                    pair: LanguagePair::parse("es:en").unwrap(),
                    requestor: EmailAddress::parse("dr@clinic.example").unwrap(),
                    route_address: "es-en@agency.test".into(),
                    calendar: None,
                },
                now,
            )
            .await
            .expect("plan");
        let message = IngestedMessage {
            mailbox: "spool".into(),
            source_key: format!("msg-{key}"),
            message_id: None,
            sha256: "0".repeat(64),
        };
        match self.store.record_ingest(&message, &decision, now).await {
            Ok(IngestOutcome::Created(id)) => id,
            other => panic!("request not created: {other:?}"),
        }
    }

    /// Claims every queued email (as the worker would) and returns (kind, recipient, text).
    async fn mail(&self, now: DateTime<Utc>) -> Vec<(String, String, String)> {
        let jobs = self
            .store
            .claim_outbox(now + Duration::days(30), now + Duration::days(31), 10_000)
            .await
            .expect("claim outbox");
        let mut out = Vec::new();
        for j in jobs {
            self.store.outbox_sent(j.id, now).await.expect("sent");
            out.push((j.email.kind, j.email.to.to_string(), j.email.text));
        }
        out
    }

    async fn state(&self, id: i64) -> RequestState {
        self.store
            .request_detail(id)
            .await
            .unwrap()
            .unwrap()
            .request
            .state
    }
}

/// recipient → offer token, from offer emails.
fn tokens(mail: &[(String, String, String)]) -> HashMap<String, String> {
    let re = regex::Regex::new(r"/offer/([A-Za-z0-9]{32})").unwrap();
    mail.iter()
        .filter(|(kind, _, _)| kind == "offer")
        .map(|(_, to, text)| {
            (
                to.clone(),
                re.captures(text).expect("offer link")[1].to_string(),
            )
        })
        .collect()
}

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

async fn waves_fill_exactly_once(url: &str) {
    let w = world(url, |_| {}).await;
    let now = t0();
    w.roster(40, true, now).await;
    let start = now + Duration::hours(3);
    let id = w.request("waves", start, now).await;

    let wave1 = tokens(&w.mail(now).await);
    assert!(
        (1..40).contains(&wave1.len()),
        "the first wave is a prefix, not everyone: {}",
        wave1.len()
    );
    assert_eq!(w.state(id).await, RequestState::Offered);

    // Nothing is due a second later.
    let r = w
        .offers
        .dispatch_step(now + Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(r.offers, 0, "{r:?}");

    // Everyone in wave 1 declines: the next wave goes at the next step, not at the timeout.
    for token in wave1.values() {
        let d = w
            .offers
            .decline(token, now + Duration::seconds(2))
            .await
            .unwrap();
        assert_eq!(d, DeclineOutcome::Declined);
    }
    let r = w
        .offers
        .dispatch_step(now + Duration::seconds(3))
        .await
        .unwrap();
    assert!(
        r.offers > 0,
        "a decline brings the next wave forward: {r:?}"
    );
    let wave2 = tokens(&w.mail(now).await);
    assert!(
        wave2.keys().all(|k| !wave1.contains_key(k)),
        "nobody offered twice"
    );

    // Later waves at their timeouts until everyone eligible has an offer.
    let mut offered: HashMap<String, String> = wave2.clone();
    let mut at = now + Duration::seconds(3);
    for _ in 0..20 {
        at += Duration::minutes(31);
        if at >= start {
            break;
        }
        w.offers.dispatch_step(at).await.unwrap();
        for (k, v) in tokens(&w.mail(at).await) {
            assert!(
                !offered.contains_key(&k) && !wave1.contains_key(&k),
                "{k} offered twice"
            );
            offered.insert(k, v);
        }
    }
    assert_eq!(
        offered.len() + wave1.len(),
        40,
        "the last wave reaches everyone eligible"
    );

    // Everyone still holding an offer accepts at once, 3 to 7 times each (about 170 accepts),
    // while every fourth one also declines.
    let mut tasks = Vec::new();
    for (i, token) in offered.values().enumerate() {
        for _ in 0..(3 + i % 5) {
            let offers = w.offers.clone();
            let token = token.clone();
            tasks.push(tokio::spawn(async move {
                (
                    token.clone(),
                    offers.accept(&token, at).await.expect("accept"),
                )
            }));
        }
        if i % 4 == 0 {
            let offers = w.offers.clone();
            let token = token.clone();
            tasks.push(tokio::spawn(async move {
                offers.decline(&token, at).await.expect("decline");
                (token, AcceptResult::Gone)
            }));
        }
    }
    let mut winners = HashSet::new();
    let mut first_times = 0;
    for t in tasks {
        if let (token, AcceptResult::Accepted { first_time, .. }) = t.await.unwrap() {
            winners.insert(token);
            first_times += usize::from(first_time);
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one interpreter holds the request"
    );
    assert_eq!(
        first_times, 1,
        "exactly one accept won; repeats got the same answer"
    );
    assert_eq!(w.state(id).await, RequestState::Assigned);

    // A wave timer after the accept changes nothing.
    let r = w
        .offers
        .dispatch_step(at + Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(r.offers, 0, "stale timers send nothing: {r:?}");
    assert!(r.stale >= 1, "the wave timer met the new epoch: {r:?}");
    assert!(tokens(&w.mail(at).await).is_empty());

    // Explain: every interpreter once, ranked with components, offered in a wave.
    let rows = w.store.request_explain(id).await.unwrap();
    let ids: HashSet<i64> = rows.iter().map(|r| r.interpreter_id).collect();
    assert_eq!(ids.len(), 40);
    assert!(rows.iter().all(|r| r.wave.is_some() && r.score.is_some()));
    assert_eq!(
        rows.iter()
            .filter(|r| r.offer_state.as_deref() == Some("accepted"))
            .count(),
        1
    );
    let text = dragoman::offers::explain_text(&rows);
    assert!(
        text.contains("accepted") && text.contains("declined"),
        "{text}"
    );
}

async fn restart_mid_wave(url: &str) {
    let w = world(url, |_| {}).await;
    let now = t0();
    w.roster(12, true, now).await;
    let id = w.request("restart", now + Duration::hours(3), now).await;
    let wave1 = tokens(&w.mail(now).await);
    assert!(wave1.len() < 12);
    // The process dies; a new one picks the timer up from the database.
    let w = w.restart().await;
    let r = w
        .offers
        .dispatch_step(now + Duration::minutes(31))
        .await
        .unwrap();
    assert!(r.offers > 0, "{r:?}");
    let wave2 = tokens(&w.mail(now).await);
    assert!(wave2.keys().all(|k| !wave1.contains_key(k)));
    assert_eq!(w.state(id).await, RequestState::Offered);
}

async fn deadline_then_close(url: &str) {
    let w = world(url, |c| c.matching.deadline_lead_minutes = 5).await;
    let now = t0();
    w.roster(3, false, now).await; // nobody online for a meeting in 30 minutes
    let start = now + Duration::minutes(30);
    let id = w.request("deadline", start, now).await;
    assert!(tokens(&w.mail(now).await).is_empty());
    assert_eq!(w.state(id).await, RequestState::Open);
    let r = w
        .offers
        .dispatch_step(start - Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(r.deadlines, 1, "{r:?}");
    let mail = w.mail(now).await;
    let told: HashSet<&str> = mail
        .iter()
        .filter(|(k, _, _)| k == "nobody_available")
        .map(|(_, to, _)| to.as_str())
        .collect();
    assert_eq!(
        told,
        HashSet::from(["dr@clinic.example", "coord@agency.test"])
    );
    assert_eq!(
        w.state(id).await,
        RequestState::Open,
        "open until start + grace"
    );

    // Someone comes online before the start: the retry wave offers them.
    let late = w
        .store
        .find_interpreter("int0@interpreters.test")
        .await
        .unwrap()
        .unwrap();
    w.store
        .set_presence(late.id, Some(start + Duration::hours(2)))
        .await
        .unwrap();
    w.offers
        .dispatch_step(start - Duration::minutes(1))
        .await
        .unwrap();
    let offered = tokens(&w.mail(now).await);
    assert_eq!(
        offered.keys().collect::<Vec<_>>(),
        vec!["int0@interpreters.test"]
    );

    let r = w
        .offers
        .dispatch_step(start + Duration::minutes(16))
        .await
        .unwrap();
    assert_eq!(r.closed, 1, "{r:?}");
    assert_eq!(w.state(id).await, RequestState::Unfilled);
    let token = offered.values().next().unwrap();
    let late_accept = w
        .offers
        .accept(token, start + Duration::minutes(17))
        .await
        .unwrap();
    assert_ne!(
        std::mem::discriminant(&late_accept),
        std::mem::discriminant(&AcceptResult::Accepted {
            join_url: String::new(),
            first_time: true
        }),
        "an accept after the close wins nothing"
    );
}

async fn unanswered_offers_pause(url: &str) {
    let w = world(url, |c| c.matching.pause_after_unanswered = 1).await;
    let now = t0();
    w.roster(8, true, now).await;
    w.request("pause", now + Duration::hours(3), now).await;
    let wave1 = tokens(&w.mail(now).await);
    // One answers; the rest stay silent past their wave.
    let (answered, token) = wave1.iter().next().unwrap();
    w.offers
        .decline(token, now + Duration::minutes(1))
        .await
        .unwrap();
    w.offers
        .dispatch_step(now + Duration::minutes(31))
        .await
        .unwrap();
    let mail = w.mail(now).await;
    let paused: HashSet<String> = mail
        .iter()
        .filter(|(k, _, _)| k == "paused")
        .map(|(_, to, _)| to.clone())
        .collect();
    let silent: HashSet<String> = wave1.keys().filter(|k| *k != answered).cloned().collect();
    assert_eq!(
        paused, silent,
        "the silent ones are paused and told; not the one who answered"
    );
    for email in &silent {
        let i = w.store.find_interpreter(email).await.unwrap().unwrap();
        assert!(!i.is_online(now), "pausing drops presence");
        let p = w.store.interpreter_profile(i.id).await.unwrap();
        assert!(p.paused_at.is_some());
    }
    // Going online again ends the pause.
    let back = w
        .store
        .find_interpreter(silent.iter().next().unwrap())
        .await
        .unwrap()
        .unwrap();
    w.store
        .set_presence(back.id, Some(now + Duration::hours(2)))
        .await
        .unwrap();
    let p = w.store.interpreter_profile(back.id).await.unwrap();
    assert!(p.paused_at.is_none() && p.unanswered == 0);
}

async fn no_show_reoffers(url: &str) {
    let w = world(url, |c| c.matching.noshow_grace_minutes = 10).await;
    let now = t0();
    w.roster(4, true, now).await;
    let start = now + Duration::minutes(20);
    let joined = w.request("joined", start, now).await;
    let absent = w.request("absent", start + Duration::hours(3), now).await;
    let mail = w.mail(now).await;
    assert_eq!(tokens(&mail).len(), 4, "a small pool is one wave");
    // Every offer email, per request: the first accept of each wins.
    let re = regex::Regex::new(r"/offer/([A-Za-z0-9]{32})").unwrap();
    let mut winners = Vec::new();
    for (request, topic) in [(joined, "Topic joined"), (absent, "Topic absent")] {
        let (to, _, text) = mail
            .iter()
            .map(|(_, to, text)| (to.clone(), (), text.clone()))
            .find(|(_, _, text)| text.contains(topic))
            .expect("an offer for the request");
        let token = re.captures(&text).unwrap()[1].to_string();
        let won = w
            .offers
            .accept(&token, now + Duration::minutes(1))
            .await
            .unwrap();
        assert!(
            matches!(
                won,
                AcceptResult::Accepted {
                    first_time: true,
                    ..
                }
            ),
            "{won:?}"
        );
        assert_eq!(w.state(request).await, RequestState::Assigned);
        winners.push(to);
    }
    w.mail(now).await;
    // The first interpreter joins (Zoom's webhook, attributed by customer_key).
    let detail = w.store.request_detail(joined).await.unwrap().unwrap();
    w.store
        .record_participant_event(
            &dragoman::store::ParticipantEvent {
                dedupe_key: "joined-1".into(),
                meeting_id: detail.request.meeting.meeting_id.clone().unwrap(),
                meeting_uuid: "uuid-1==".into(),
                participant_key: "p1".into(),
                user_name: Some("Int Example".into()),
                customer_key: detail.customer_key.clone(),
                kind: dragoman::store::ParticipantEventKind::Joined,
                at: start,
            },
            start,
        )
        .await
        .unwrap();
    let r = w
        .offers
        .dispatch_step(start + Duration::minutes(11))
        .await
        .unwrap();
    assert_eq!(
        r.released, 0,
        "the one who joined keeps the assignment: {r:?}"
    );
    assert_eq!(w.state(joined).await, RequestState::Assigned);

    let later = start + Duration::hours(3) + Duration::minutes(11);
    let r = w.offers.dispatch_step(later).await.unwrap();
    assert_eq!(r.released, 1, "{r:?}");
    let r2 = w.offers.dispatch_step(later).await.unwrap();
    assert!(r2.offers > 0, "a new round goes out at once: {r2:?}");
    assert_eq!(w.state(absent).await, RequestState::Offered);
    let mail = w.mail(later).await;
    let kinds: HashSet<(&str, &str)> = mail
        .iter()
        .map(|(k, to, _)| (k.as_str(), to.as_str()))
        .collect();
    assert!(
        kinds.contains(&("no_show_released", winners[1].as_str())),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("reoffered", "dr@clinic.example")),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("reoffered", "coord@agency.test")),
        "{kinds:?}"
    );
    let reoffered = tokens(&mail);
    assert!(!reoffered.is_empty());
    assert!(
        !reoffered.contains_key(&winners[1]),
        "the one who did not join is not offered it again"
    );
    // Someone else accepts the new round.
    let token = reoffered.values().next().unwrap();
    let won = w
        .offers
        .accept(token, later + Duration::minutes(1))
        .await
        .unwrap();
    assert!(
        matches!(
            won,
            AcceptResult::Accepted {
                first_time: true,
                ..
            }
        ),
        "{won:?}"
    );
    assert_eq!(w.state(absent).await, RequestState::Assigned);
    let d = w.store.request_detail(absent).await.unwrap().unwrap();
    assert_ne!(
        w.store
            .find_interpreter(&d.assigned_interpreter.unwrap().to_string())
            .await
            .unwrap()
            .unwrap()
            .email
            .to_string(),
        winners[1]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn matching_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    waves_fill_exactly_once(&common::fresh_sqlite_url(dir.path())).await;
    restart_mid_wave(&common::fresh_sqlite_url(dir.path())).await;
    deadline_then_close(&common::fresh_sqlite_url(dir.path())).await;
    unanswered_offers_pause(&common::fresh_sqlite_url(dir.path())).await;
    no_show_reoffers(&common::fresh_sqlite_url(dir.path())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn matching_on_postgres() {
    let db = common::fresh_postgres().await;
    waves_fill_exactly_once(&db.url).await;
    let db = common::fresh_postgres().await;
    restart_mid_wave(&db.url).await;
    let db = common::fresh_postgres().await;
    deadline_then_close(&db.url).await;
    let db = common::fresh_postgres().await;
    unanswered_offers_pause(&db.url).await;
    let db = common::fresh_postgres().await;
    no_show_reoffers(&db.url).await;
}
