//! Matching latency for one request against a large roster (issue #5): 100,000 interpreters of
//! whom 10,000 hold the pair, with a history of offers and assignments. Measures, per backend,
//! the whole planning step (`Store::matching_pool` + hard rules + ranking + wave plan, what a
//! wave timer or an ingest does before writing) and its two halves, against a baseline in the
//! same run (`Store::ping`, one round trip), reporting p50/p99 over many iterations.
//!
//! `cargo bench --bench matching` (SQLite always; PostgreSQL when `TEST_DATABASE_URL` is set —
//! `./scripts/test` exports it). `MATCHING_ROSTER=20000` makes a smaller roster.

use std::collections::HashSet;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use dragoman::domain::{EmailAddress, LanguagePair};
use dragoman::matching::waves::{plan_waves, rank, Weights};
use dragoman::matching::{consider, Need, Preferences, Rules};
use dragoman::store::Store;
use sqlx::Executor;

const ITERATIONS: usize = 60;

/// `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it, as a
/// smoke test on a small roster.
fn smoke() -> bool {
    !std::env::args().any(|a| a == "--bench")
}

fn percentile(v: &mut [StdDuration], p: f64) -> StdDuration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

/// Seeds the roster with set-based SQL (portable: recursive CTE numbers), far faster than
/// one `add_interpreter` per row.
async fn seed<DB: sqlx::Database>(pool: &sqlx::Pool<DB>, roster: i64, with_pair: i64)
where
    for<'c> &'c sqlx::Pool<DB>: sqlx::Executor<'c, Database = DB>,
{
    let t = now().timestamp_millis();
    let until = t + 4 * 3_600_000;
    let steps = [
        format!(
            "INSERT INTO interpreters (id, name, email, timezone, presence_until, created_at, unanswered)
             WITH RECURSIVE n(i) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT i + 1 FROM n WHERE i < {roster})
             SELECT i, 'Interpreter ' || i, 'i' || i || '@roster.example', 'UTC',
                    CASE WHEN i % 3 = 0 THEN NULL ELSE {until} END, {t}, 0 FROM n"
        ),
        // Everyone has a pair; every tenth one has es:en.
        "INSERT INTO interpreter_pairs (interpreter_id, from_lang, to_lang)
         SELECT id, CASE WHEN id % 10 = 0 THEN 'es' ELSE 'fr' END, 'en' FROM interpreters"
            .to_string(),
        format!(
            "UPDATE interpreters SET availability = 'mon-fri 08:00-18:00' WHERE id % 4 = 0 AND id <= {with_pair} * 10"
        ),
        "INSERT INTO interpreter_skills (interpreter_id, skill, expires_at)
         SELECT id, 'medical', NULL FROM interpreters WHERE id % 20 = 0"
            .to_string(),
        // A month of history: 20,000 past requests, each offered to 5 and assigned to 1.
        format!(
            "INSERT INTO requests (id, meeting_key, meeting_id, passcode, join_url, host, kind, topic, start_at,
                                   timezone, from_lang, to_lang, requestor, route_address, state, epoch,
                                   created_at, updated_at)
             WITH RECURSIVE n(i) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
             SELECT i, 'k' || i, '8' || i, NULL, 'https://zoom.us/j/8' || i, 'zoom.us', 'meeting', NULL,
                    {t} - (i % 30) * 86400000 + 3600000, 'UTC', 'es', 'en', 'r@clinic.example',
                    'es-en@agency.example', 'done', 1, {t}, {t} FROM n"
        ),
format!(
            "INSERT INTO offers (request_id, interpreter_id, token_hash, state, created_at, expires_at, wave)
         SELECT r.id, ((r.id * 7 + k.k * 13) % {with_pair} + 1) * 10, 'h' || r.id || '-' || k.k,
                CASE WHEN k.k = 0 THEN 'accepted' WHEN k.k = 1 THEN 'declined' ELSE 'superseded' END,
                r.created_at, r.created_at + 3600000, 1
         FROM requests r CROSS JOIN (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2
                                     UNION ALL SELECT 3 UNION ALL SELECT 4) k"
        ),
        "INSERT INTO assignments (request_id, offer_id, interpreter_id, customer_key, join_token_hash,
                                  join_expires_at, created_at)
         SELECT o.request_id, o.id, o.interpreter_id, 'ck' || o.id, 'jt' || o.id, o.expires_at, o.created_at
         FROM offers o WHERE o.state = 'accepted'"
            .to_string(),
    ];
    for sql in steps {
        pool.execute(sql.as_str())
            .await
            .unwrap_or_else(|e| panic!("seeding: {e}\n{sql}"));
    }
}

async fn measure(label: &str, store: &dyn Store) -> Vec<String> {
    let pair = LanguagePair::parse("es:en").unwrap();
    let prefs = Preferences {
        preferred: vec![EmailAddress::parse("i100@roster.example").unwrap()],
        blocked: vec![EmailAddress::parse("i200@roster.example").unwrap()],
    };
    let skills: Vec<String> = vec![];
    let rules = Rules::default();
    let start = now() + Duration::minutes(30);
    let window = Duration::days(30);
    let (mut ping, mut pool_t, mut plan_t, mut total) = (vec![], vec![], vec![], vec![]);
    let mut eligible_n = 0;
    let mut first_wave = 0;
    let iterations = if smoke() { 3 } else { ITERATIONS };
    for i in 0..iterations {
        let t = Instant::now();
        store.ping().await.expect("ping");
        ping.push(t.elapsed());

        let t = Instant::now();
        let pool = store
            .matching_pool(&pair, now() - window, now() - window, now())
            .await
            .expect("pool");
        let fetched = t.elapsed();
        let t2 = Instant::now();
        let need = Need {
            pair: &pair,
            skills: &skills,
            start: Some(start),
            duration_minutes: 60,
            preferences: &prefs,
        };
        let (_, eligible) = consider(&pool, &need, &rules, &HashSet::new(), now());
        let ranked = rank(&eligible, &Weights::default(), now(), i as u64);
        let waves = plan_waves(&ranked, now(), Some(start));
        let planned = t2.elapsed();
        pool_t.push(fetched);
        plan_t.push(planned);
        total.push(fetched + planned);
        eligible_n = eligible.len();
        first_wave = waves.first().map_or(0, |w| w.end - w.start);
    }
    let p = |v: &mut Vec<StdDuration>| {
        (
            percentile(v, 0.5).as_secs_f64() * 1e3,
            percentile(v, 0.99).as_secs_f64() * 1e3,
        )
    };
    let (ping50, ping99) = p(&mut ping);
    let (pool50, pool99) = p(&mut pool_t);
    let (plan50, plan99) = p(&mut plan_t);
    let (tot50, tot99) = p(&mut total);
    vec![
        format!("{label}: eligible {eligible_n} of the pair's pool, first wave {first_wave}"),
        format!("{label}: baseline ping          p50 {ping50:8.3} ms  p99 {ping99:8.3} ms"),
        format!("{label}: matching_pool (SQL)    p50 {pool50:8.3} ms  p99 {pool99:8.3} ms"),
        format!("{label}: rules+rank+waves       p50 {plan50:8.3} ms  p99 {plan99:8.3} ms"),
        format!(
            "{label}: whole planning step    p50 {tot50:8.3} ms  p99 {tot99:8.3} ms  ({:.0}× the ping p50)",
            tot50 / ping50.max(1e-6)
        ),
    ]
}

fn main() {
    let roster: i64 = std::env::var("MATCHING_ROSTER")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if smoke() { 2_000 } else { 100_000 });
    let with_pair = roster / 10;
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut report = vec![format!(
            "roster {roster} interpreters, {with_pair} with es:en; 20,000 past requests with 5 offers and 1 assignment each; {ITERATIONS} iterations"
        )];
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/bench.db", dir.path().display());
        let store = dragoman::store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        seed(&pool, roster, with_pair).await;
        pool.execute("ANALYZE").await.unwrap();
        for line in report.drain(..) {
            println!("{line}");
        }
        for line in measure("sqlite", store.as_ref()).await {
            println!("{line}");
        }

        if let Ok(admin) = std::env::var("TEST_DATABASE_URL") {
            let name = format!("dragoman_bench_{}", std::process::id());
            let admin_pool = sqlx::PgPool::connect(&admin).await.unwrap();
            admin_pool
                .execute(format!("CREATE DATABASE \"{name}\"").as_str())
                .await
                .unwrap();
            let url = match admin.rsplit_once('/') {
                Some((base, _)) => format!("{base}/{name}"),
                None => panic!("TEST_DATABASE_URL needs a database path"),
            };
            {
                let store = dragoman::store::connect(&url).await.unwrap();
                store.migrate().await.unwrap();
                let pool = sqlx::PgPool::connect(&url).await.unwrap();
                seed(&pool, roster, with_pair).await;
                pool.execute("ANALYZE").await.unwrap();
                for line in measure("postgres", store.as_ref()).await {
                    println!("{line}");
                }
                pool.close().await;
            }
            let _ = admin_pool
                .execute(format!("DROP DATABASE \"{name}\" WITH (FORCE)").as_str())
                .await;
        } else {
            report.push("postgres: skipped (TEST_DATABASE_URL not set)".into());
        }
        for line in report {
            println!("{line}");
        }
    });
}
