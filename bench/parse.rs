//! Benchmark of the invitation parser over the golden fixture corpus: invitations per second for
//! the whole extraction, and mail-parser's bare `MessageParser::default().parse()` of the same
//! messages in the same run (through `invitation::mime_baseline`, so `mail_parser` stays inside
//! the parser module), with the ratio printed at the end. Goal: extraction <= 2x the bare parse.
//! The headline ratio is over every fixture; a second one beside it is over the whole messages
//! (`.eml`) only, what the daemon receives (on a bare body mail-parser finds no header block and
//! does almost nothing). `PARSE_BENCH_PER_FILE=1` prints each input's own times and ratio
//! instead, and `PARSE_BENCH_RATIO=1` only the interleaved ratio; both over `PARSE_BENCH_SET`
//! (see [`selected`]: `all`, `eml`, `other`, a file-name prefix, or `-` and one, joined by
//! commas). And `PARSE_BENCH_LOOP=extract|bare|none` (with `PARSE_BENCH_SET` and `PARSE_BENCH_N`
//! passes) only loops one side over the set, for `bench/parse_ir.sh`, which counts the
//! instructions each side executes under valgrind: a figure machine load cannot move.
//! `PARSE_BENCH_FLOOR=1` times plain readings of the same inputs (no extraction) beside the
//! bare parse: the cost a single Unicode-aware pass over the text has, whatever reads it.
//! Must never write anywhere but stdout and criterion's own target directory.

use criterion::{black_box, Criterion, Throughput};
use dragoman::invitation::{mime_baseline, parse};
use std::path::Path;
use std::time::{Duration, Instant};

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/invitations");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures/invitations exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
            ext != "json" && ext != "failed" && p.with_extension("json").exists()
        })
        .collect();
    paths.sort();
    paths
        .iter()
        .filter_map(|p| {
            let name = p.file_name()?.to_string_lossy().into_owned();
            Some((name, std::fs::read(p).ok()?))
        })
        .collect()
}

fn extract_all(corpus: &[Vec<u8>]) -> usize {
    corpus
        .iter()
        .filter(|m| parse(black_box(m)).is_ok())
        .count()
}

fn mime_all(corpus: &[Vec<u8>]) -> usize {
    corpus
        .iter()
        .filter(|m| mime_baseline(black_box(m)))
        .count()
}

/// `PARSE_BENCH_PER_FILE=1`: each input's own extraction and bare-parse time (interleaved
/// rounds, like [`ratio`]), slowest extraction first, so a profile can start where time goes.
fn per_file(named: &[(String, Vec<u8>)]) {
    let mut rows: Vec<(f64, f64, &str)> = named
        .iter()
        .map(|(name, bytes)| {
            let one = std::slice::from_ref(bytes);
            let (ex, mi) = ratio_rounds(one, 10, 50);
            (ex, mi, name.as_str())
        })
        .collect();
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));
    let total: f64 = rows.iter().map(|r| r.0).sum();
    println!(
        "{:>9} {:>9} {:>6} {:>6}  file",
        "extr us", "bare us", "ratio", "share"
    );
    for (ex, mi, name) in rows {
        println!(
            "{:>9.1} {:>9.1} {:>6.1} {:>5.1}%  {name}",
            ex * 1e6,
            mi * 1e6,
            ex / mi,
            ex / total * 100.0
        );
    }
}

fn benches(c: &mut Criterion, corpus: &[Vec<u8>]) {
    let mut g = c.benchmark_group("invitation_corpus");
    g.throughput(Throughput::Elements(corpus.len() as u64));
    g.bench_function("extract", |b| b.iter(|| extract_all(corpus)));
    g.bench_function("mail_parser_bare", |b| b.iter(|| mime_all(corpus)));
    g.finish();
}

/// Interleaved rounds of both, so machine load hits them alike; returns seconds per corpus pass.
fn ratio(corpus: &[Vec<u8>]) -> (f64, f64) {
    ratio_rounds(corpus, 30, 10)
}

/// `rounds` interleaved rounds of `passes` corpus passes of each; seconds per pass.
fn ratio_rounds(corpus: &[Vec<u8>], rounds: u32, passes: u32) -> (f64, f64) {
    let (mut ex, mut mi) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..rounds {
        let t = Instant::now();
        for _ in 0..passes {
            black_box(extract_all(corpus));
        }
        ex += t.elapsed();
        let t = Instant::now();
        for _ in 0..passes {
            black_box(mime_all(corpus));
        }
        mi += t.elapsed();
    }
    let passes = f64::from(rounds * passes);
    (ex.as_secs_f64() / passes, mi.as_secs_f64() / passes)
}

/// The loop `bench/parse_ir.sh` counts (valgrind starts counting at this function).
#[inline(never)]
fn measured_loop(set: &[&Vec<u8>], passes: usize, side: &str) {
    for _ in 0..passes {
        for m in set {
            match side {
                "extract" => {
                    let _ = black_box(parse(black_box(m)));
                }
                "bare" => {
                    black_box(mime_baseline(black_box(m)));
                }
                _ => {}
            }
        }
    }
}

/// `PARSE_BENCH_LOOP`: one side over one set, after a warm-up pass of both (so lazily built
/// statics are not counted).
/// The inputs `PARSE_BENCH_SET` names: `all` (the default), `eml` (whole messages), `other`
/// (bare texts, HTML and calendars), a file-name prefix (`008`, `1`), or `-` and a prefix for
/// every input but those; several terms joined by commas are all applied (`-16,-17`: every
/// input but 160-179).
fn selected(named: &[(String, Vec<u8>)]) -> impl Iterator<Item = &(String, Vec<u8>)> {
    let set = std::env::var("PARSE_BENCH_SET").unwrap_or_else(|_| "all".into());
    named.iter().filter(move |(name, _)| {
        set.split(',').all(|term| match term {
            "all" => true,
            "eml" => name.ends_with(".eml"),
            "other" => !name.ends_with(".eml"),
            s => match s.strip_prefix('-') {
                Some(prefix) => !name.starts_with(prefix),
                None => name.starts_with(s),
            },
        })
    })
}

/// `PARSE_BENCH_RATIO=1`: the interleaved ratio over `PARSE_BENCH_SET` alone, without criterion:
/// how much of the whole ratio one kind of input, or one input, accounts for.
fn set_ratio(named: &[(String, Vec<u8>)]) {
    let set: Vec<Vec<u8>> = selected(named).map(|(_, b)| b.clone()).collect();
    let (ex, mi) = ratio(&set);
    println!(
        "{} inputs: extraction {:.1} us, bare parse {:.1} us per pass over them; ratio {:.2}x",
        set.len(),
        ex * 1e6,
        mi * 1e6,
        ex / mi
    );
}

/// A reference reading [`floor`] times, by name: each reads every byte of an input once, the
/// way any extraction must at least, and none extracts anything.
type Reading = (&'static str, fn(&[u8]) -> usize);

/// See [`floor`].
const READINGS: [Reading; 4] = [
    ("as text, lower-cased (Unicode)", |b| {
        String::from_utf8_lossy(b).to_lowercase().len()
    }),
    ("as text, each line's characters counted", |b| {
        String::from_utf8_lossy(b)
            .lines()
            .map(|l| l.chars().count())
            .sum()
    }),
    ("as text, each character's class asked", |b| {
        String::from_utf8_lossy(b)
            .chars()
            .filter(|c| c.is_alphanumeric())
            .count()
    }),
    ("the three above in one reading", |b| {
        String::from_utf8_lossy(b)
            .to_lowercase()
            .lines()
            .map(|l| l.chars().filter(|c| c.is_alphanumeric()).count())
            .sum()
    }),
];

/// `PARSE_BENCH_FLOOR=1`: what one plain reading of the text costs beside mail-parser's bare
/// parse, over `PARSE_BENCH_SET`, in interleaved rounds. On a bare body mail-parser finds no
/// header block and reads little more than the bytes; the ratios say how much of the goal's
/// budget (2x) a single Unicode-aware pass already takes, before any extraction.
fn floor(named: &[(String, Vec<u8>)]) {
    let set: Vec<Vec<u8>> = selected(named).map(|(_, b)| b.clone()).collect();
    let (rounds, passes) = (30, 10);
    let mut bare = Duration::ZERO;
    let mut read = [Duration::ZERO; READINGS.len()];
    for _ in 0..rounds {
        let t = Instant::now();
        for _ in 0..passes {
            black_box(mime_all(&set));
        }
        bare += t.elapsed();
        for ((_, reading), time) in READINGS.iter().zip(&mut read) {
            let t = Instant::now();
            for _ in 0..passes {
                for m in &set {
                    black_box(reading(black_box(m)));
                }
            }
            *time += t.elapsed();
        }
    }
    let per_pass = |d: Duration| d.as_secs_f64() / f64::from(rounds * passes) * 1e6;
    println!(
        "{} inputs: bare parse {:.1} us per pass over them",
        set.len(),
        per_pass(bare)
    );
    for ((name, _), time) in READINGS.iter().zip(read) {
        println!(
            "  {name}: {:.1} us, {:.2}x the bare parse",
            per_pass(time),
            time.as_secs_f64() / bare.as_secs_f64()
        );
    }
}

fn loop_only(named: &[(String, Vec<u8>)], side: &str) {
    let set: Vec<&Vec<u8>> = selected(named).map(|(_, b)| b).collect();
    let passes = std::env::var("PARSE_BENCH_N")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20);
    for m in &set {
        let _ = parse(m);
        mime_baseline(m);
    }
    measured_loop(&set, passes, side);
}

fn main() {
    let named = corpus();
    if let Ok(side) = std::env::var("PARSE_BENCH_LOOP") {
        loop_only(&named, &side);
        return;
    }
    if std::env::var_os("PARSE_BENCH_RATIO").is_some() {
        set_ratio(&named);
        return;
    }
    if std::env::var_os("PARSE_BENCH_FLOOR").is_some() {
        floor(&named);
        return;
    }
    if std::env::var_os("PARSE_BENCH_PER_FILE").is_some() {
        let set: Vec<(String, Vec<u8>)> = selected(&named).cloned().collect();
        per_file(&set);
        return;
    }
    let messages: Vec<Vec<u8>> = named
        .iter()
        .filter(|(name, _)| name.ends_with(".eml"))
        .map(|(_, b)| b.clone())
        .collect();
    let corpus: Vec<Vec<u8>> = named.into_iter().map(|(_, b)| b).collect();
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c, &corpus);
    c.final_summary();
    let (ex, mi) = ratio(&corpus);
    let n = corpus.len() as f64;
    println!(
        "fixtures: {} messages, {} bytes",
        corpus.len(),
        corpus.iter().map(Vec::len).sum::<usize>()
    );
    println!(
        "extraction: {:.0} invitations/s ({:.1} us each)",
        n / ex,
        ex / n * 1e6
    );
    println!(
        "mail-parser bare parse: {:.0} messages/s ({:.1} us each)",
        n / mi,
        mi / n * 1e6
    );
    println!(
        "ratio extraction / bare MIME parse: {:.2}x (goal <= 2x)",
        ex / mi
    );
    let (ex, mi) = ratio(&messages);
    let n = messages.len() as f64;
    println!(
        "whole messages (.eml) only, {} of them: extraction {:.1} us, bare parse {:.1} us each; ratio {:.2}x",
        messages.len(),
        ex / n * 1e6,
        mi / n * 1e6,
        ex / mi
    );
}
