//! The invitation parser's cost grows in proportion to its input's length, never with its
//! square: a mail under the size cap (10 MiB) must not hold an ingest worker for hours. Each
//! case is a shape that once cost the square of its length (a long line with a label word
//! repeated on it, many passcode labels after a link, many links and labels), built from a real
//! fixture repeated. Its input at 16× the length must cost under 16 × 4 = 64× the time: a
//! linear reader takes about 16×, a quadratic one up to 256× (a quadratic reader that once
//! showed 30× at 8× shows over 100× here). This is a guard against a complexity
//! bug, not a speed measurement (those are in `bench/parse.rs` and BENCHMARKS.md): the margin
//! absorbs a loaded machine, and each time is the least of three runs, the cases one by one.

use dragoman::invitation::parse;
use std::path::Path;
use std::time::{Duration, Instant};

/// How a fixture's text is repeated into a long input.
#[derive(Clone, Copy, Debug)]
enum Shape {
    /// The text as it is, again and again.
    Text,
    /// All its lines joined by blanks into one line.
    OneLine,
    /// All its lines glued together without anything between them.
    Glued,
    /// Every line quoted twice (`> > `), as a reply quotes it.
    Quoted,
    /// Every blank taken out (one word as long as the input).
    NoBlanks,
}

fn fixture(prefix: &str) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/invitations");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures/invitations")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.starts_with(prefix) && !name.ends_with(".json") && !name.ends_with(".failed")
        })
        .collect();
    paths.sort();
    let path = paths
        .first()
        .unwrap_or_else(|| panic!("no fixture {prefix}-*"));
    std::fs::read(path).expect("fixture")
}

/// `text` in `shape`, repeated until it holds at least `len` bytes.
fn long(text: &[u8], shape: Shape, len: usize) -> Vec<u8> {
    let lines = text
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let unit: Vec<u8> = match shape {
        Shape::Text => text.to_vec(),
        Shape::OneLine => {
            let mut u = lines.collect::<Vec<_>>().join(&b' ');
            u.push(b' ');
            u
        }
        Shape::Glued => lines.collect::<Vec<_>>().concat(),
        Shape::Quoted => lines.flat_map(|l| [b"> > ", l, b"\n"].concat()).collect(),
        Shape::NoBlanks => text
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect(),
    };
    let mut out = Vec::with_capacity(len + unit.len());
    while out.len() < len {
        out.extend_from_slice(&unit);
    }
    out
}

/// The least of three parses of `input`.
fn cost(input: &[u8]) -> Duration {
    (0..3)
        .map(|_| {
            let t = Instant::now();
            let _ = std::hint::black_box(parse(std::hint::black_box(input)));
            t.elapsed()
        })
        .min()
        .expect("three runs")
}

#[test]
fn long_inputs_cost_in_proportion_to_their_length() {
    // Each case names what once read its whole line, or every link, once per label.
    let cases: [(&str, Vec<u8>, Shape); 12] = [
        // A label word many times on one line after a ':' (lead runs read per word).
        (
            "label words on one line",
            b"https://zoom.us/j/1234567890 a:b "
                .iter()
                .copied()
                .chain(b"zeit ".repeat(8))
                .collect(),
            Shape::OneLine,
        ),
        // Phone header words on one long line (the line read back per word).
        ("phone headers on one line", fixture("214"), Shape::Glued),
        (
            "an old invitation as one line",
            fixture("016"),
            Shape::OneLine,
        ),
        // Passcode labels after the link (the text between read per label for a recording).
        (
            "passcode labels after the link",
            fixture("145"),
            Shape::Text,
        ),
        // `Passcode: x?` on one long line (the line read to its end per label).
        (
            "passcodes ending in '?' on one line",
            fixture("210"),
            Shape::OneLine,
        ),
        // Passcodes in sentences on one long line.
        (
            "passcodes in prose on one line",
            fixture("227"),
            Shape::OneLine,
        ),
        // Many links and labels (each label against every link and ID label).
        (
            "many links and labels, quoted",
            fixture("150"),
            Shape::Quoted,
        ),
        ("many links and labels", fixture("036"), Shape::Text),
        // Recurrence phrases on one line (the line read back and forth per phrase).
        (
            "recurrence phrases on one line",
            fixture("186"),
            Shape::OneLine,
        ),
        // No blanks at all: each `://` read to the text's end for a link blanks broke.
        (
            "an old invitation without blanks",
            fixture("016"),
            Shape::NoBlanks,
        ),
        // Google's cancellation sentence many times on one line (the line read back per one).
        (
            "cancellation sentences on one line",
            b"https://zoom.us/j/91234567890\n"
                .iter()
                .copied()
                .chain(b"x This event has been canceled ".repeat(8))
                .collect(),
            Shape::OneLine,
        ),
        // A JSON array on one line: each "password" read to the end as a passcode in prose.
        (
            "meetings as JSON on one line",
            br#"{"join_url":"https://zoom.us/j/91234567890?pwd=abc123","password":"417531"},"#
                .to_vec(),
            Shape::Text,
        ),
    ];
    const SMALL: usize = 128 * 1024;
    const GROWTH: usize = 16;
    let mut report = Vec::new();
    for (what, text, shape) in &cases {
        let small = long(text, *shape, SMALL);
        let large = long(text, *shape, GROWTH * small.len());
        // Warm up (lazily built tables, the allocator) before timing.
        let _ = parse(&small);
        let (s, l) = (cost(&small), cost(&large));
        let ratio = l.as_secs_f64() / s.as_secs_f64().max(1e-6);
        report.push(format!(
            "{what} ({shape:?}): {} bytes {s:?}, {} bytes {l:?}, {ratio:.1}×",
            small.len(),
            large.len()
        ));
        assert!(
            ratio < 4.0 * GROWTH as f64,
            "the parser's cost grows faster than its input's length:\n{}",
            report.join("\n")
        );
    }
    eprintln!("{}", report.join("\n"));
}
