//! Load client for the webhook benchmark (`bench/webhook.sh` starts the daemon and runs this):
//! keeps `CONNS` requests in flight against a running dragoman for `SECS` seconds per phase —
//! first `GET /healthz` (the baseline: the same server, router, layers and loopback, no work),
//! then signed `meeting.participant_joined` POSTs to `/zoom/webhook`, each a distinct event
//! (its own `participant_uuid`), signed exactly as Zoom does (`v0:{ts}:{body}`, HMAC-SHA256) —
//! and prints requests/s, p50/p99/max latency, non-200 answers, and the ratio.
//!
//! Environment: `BENCH_URL` (e.g. http://127.0.0.1:18080), `BENCH_SECRET` (the daemon's
//! `[zoom] webhook_secret`), `BENCH_CONNS` (32), `BENCH_SECS` (10). Writes only to stdout.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dragoman::config::Secret;
use serde_json::json;

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

#[derive(Default)]
struct Tally {
    ok: u64,
    other: u64,
    errors: u64,
    latencies_us: Vec<u64>,
}

fn body(task: usize, i: u64, run: u64) -> String {
    let now = chrono::Utc::now();
    let t = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    json!({"event": "meeting.participant_joined", "event_ts": now.timestamp_millis(),
        "payload": {"account_id": "AAAAAABBBB", "object": {
            "id": "81234567890", "uuid": "4444AAAiAAAAAiAiAiiAii==", "host_id": "x1yCzABCDEfg23HiJKl4mN",
            "topic": "Bench", "type": 2, "start_time": t, "timezone": "UTC", "duration": 60,
            "participant": {"user_id": format!("{}", 16_000_000 + i), "user_name": "Guest Bench",
                "id": "", "participant_uuid": format!("bench-{run}-{task}-{i}"), "join_time": t,
                "email": "", "registrant_id": "", "participant_user_id": "",
                "customer_key": "", "phone_number": ""}}}})
    .to_string()
}

async fn phase(
    name: &str,
    client: &reqwest::Client,
    base: &str,
    secret: &Arc<Secret>,
    conns: usize,
    secs: u64,
) -> (f64, u64) {
    let run: u64 = rand::random::<u32>().into();
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for task in 0..conns {
        let client = client.clone();
        let base = base.to_string();
        let secret = secret.clone();
        let webhook = name == "webhook";
        tasks.push(tokio::spawn(async move {
            let mut t = Tally::default();
            let mut i = 0u64;
            while Instant::now() < deadline {
                i += 1;
                let req = if webhook {
                    let b = body(task, i, run);
                    let ts = chrono::Utc::now().timestamp().to_string();
                    let sig = dragoman::zoom::webhook::sign(&secret, &ts, b.as_bytes());
                    client
                        .post(format!("{base}/zoom/webhook"))
                        .header("content-type", "application/json")
                        .header("x-zm-request-timestamp", ts)
                        .header("x-zm-signature", sig)
                        .body(b)
                } else {
                    client.get(format!("{base}/healthz"))
                };
                let sent = Instant::now();
                match req.send().await {
                    Ok(res) => {
                        let status = res.status();
                        let _ = res.bytes().await;
                        t.latencies_us.push(sent.elapsed().as_micros() as u64);
                        if status == reqwest::StatusCode::OK {
                            t.ok += 1;
                        } else {
                            t.other += 1;
                        }
                    }
                    Err(_) => t.errors += 1,
                }
            }
            t
        }));
    }
    let mut all = Tally::default();
    for task in tasks {
        let t = task.await.expect("load task");
        all.ok += t.ok;
        all.other += t.other;
        all.errors += t.errors;
        all.latencies_us.extend(t.latencies_us);
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.latencies_us.sort_unstable();
    let pct = |p: f64| {
        let v = &all.latencies_us;
        if v.is_empty() {
            0.0
        } else {
            v[((v.len() as f64 * p) as usize).min(v.len() - 1)] as f64 / 1000.0
        }
    };
    let rate = all.ok as f64 / elapsed;
    println!(
        "{name:>8}: {ok} ok in {elapsed:.1}s = {rate:.0} req/s; p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms; non-200 {other}, errors {errors}",
        ok = all.ok,
        p50 = pct(0.50),
        p99 = pct(0.99),
        max = pct(1.0),
        other = all.other,
        errors = all.errors,
    );
    (rate, all.ok)
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; nothing else is read from the command line. Without it
    // (`cargo test --all-targets`), there is no daemon to load: bench/webhook.sh starts one.
    if !std::env::args().any(|a| a == "--bench") {
        println!("webhook_load: a load client for bench/webhook.sh (which starts the daemon); nothing to do under cargo test");
        return;
    }
    let base = env("BENCH_URL", "http://127.0.0.1:18080");
    let secret = Arc::new(Secret::new(env("BENCH_SECRET", "bench-webhook-secret")));
    let conns: usize = env("BENCH_CONNS", "32")
        .parse()
        .expect("BENCH_CONNS is a number");
    let secs: u64 = env("BENCH_SECS", "10")
        .parse()
        .expect("BENCH_SECS is a number");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(conns)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    println!("target {base}, {conns} in flight, {secs} s per phase");
    // Warm the connections.
    phase("warmup", &client, &base, &secret, conns, 1).await;
    let (healthz, _) = phase("healthz", &client, &base, &secret, conns, secs).await;
    let (webhook, stored) = phase("webhook", &client, &base, &secret, conns, secs).await;
    println!("webhook_ok_total {stored}");
    println!(
        "ratio: webhook {:.0} / healthz {:.0} req/s = {:.2}",
        webhook,
        healthz,
        webhook / healthz.max(1.0)
    );
}
