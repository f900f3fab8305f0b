#!/usr/bin/env python3
"""How the invitation parser's time grows with its input's length, through the command line.

Usage: python3 bench/parse_scaling.py [DRAGOMAN_BINARY] [SMALL_KB] [GROWTH]

Builds the shapes tests/invitation_scaling.rs guards (a fixture repeated as it is, as one
line, glued, quoted, without blanks; a JSON array on one line; a label word many times on one
line) at SMALL_KB (default 128) and GROWTH times that (default 16), runs
`DRAGOMAN_BINARY parse --json` on each (default target/release/dragoman; the least of three
runs, the process's start, about 10 ms, included) and prints both times and their ratio. A
reader whose cost grows with the length shows a ratio near GROWTH; one that reads a line or
the text again per label shows up to GROWTH squared. Run it with an old and a new build to
compare them (BENCHMARKS.md, "Inputs that cost the square of their length").
"""

import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "fixtures", "invitations")


def fixture(prefix):
    names = sorted(
        n for n in os.listdir(FIXTURES)
        if n.startswith(prefix + "-") and not n.endswith((".json", ".failed"))
    )
    with open(os.path.join(FIXTURES, names[0]), "rb") as f:
        return f.read()


def unit(text, shape):
    lines = [l[:-1] if l.endswith(b"\r") else l for l in text.split(b"\n")]
    if shape == "text":
        return text
    if shape == "oneline":
        return b" ".join(lines) + b" "
    if shape == "glued":
        return b"".join(lines)
    if shape == "quoted":
        return b"".join(b"> > " + l + b"\n" for l in lines)
    if shape == "noblanks":
        return bytes(c for c in text if c not in b" \t\r\n\x0b\x0c")
    raise ValueError(shape)


def long(text, shape, length):
    u = unit(text, shape)
    return u * (length // len(u) + 1)


CASES = [
    ("label words on one line", b"https://zoom.us/j/1234567890 a:b " + b"zeit " * 8, "oneline"),
    ("phone headers on one line", fixture("214"), "glued"),
    ("an old invitation as one line", fixture("016"), "oneline"),
    ("passcode labels after the link", fixture("145"), "text"),
    ("passcodes ending in '?' on one line", fixture("210"), "oneline"),
    ("passcodes in prose on one line", fixture("227"), "oneline"),
    ("many links and labels, quoted", fixture("150"), "quoted"),
    ("many links and labels", fixture("036"), "text"),
    ("recurrence phrases on one line", fixture("186"), "oneline"),
    ("an old invitation without blanks", fixture("016"), "noblanks"),
    (
        "cancellation sentences on one line",
        b"https://zoom.us/j/91234567890\n" + b"x This event has been canceled " * 8,
        "oneline",
    ),
    (
        "meetings as JSON on one line",
        b'{"join_url":"https://zoom.us/j/91234567890?pwd=abc123","password":"417531"},',
        "text",
    ),
]


def cost(binary, path):
    best = None
    for _ in range(3):
        t = time.perf_counter()
        try:
            subprocess.run([binary, "parse", "--json", path], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=300)
        except subprocess.TimeoutExpired:
            return float("inf")
        e = time.perf_counter() - t
        best = e if best is None else min(best, e)
        if e > 20:
            break
    return best


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target/release/dragoman")
    small = int(sys.argv[2]) * 1024 if len(sys.argv) > 2 else 128 * 1024
    growth = int(sys.argv[3]) if len(sys.argv) > 3 else 16
    print(f"| shape | {small // 1024} KB | {growth * small // 1024} KB | ratio |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for what, text, shape in CASES:
            times = []
            for n in (small, growth * small):
                path = os.path.join(tmp, "input.txt")
                with open(path, "wb") as f:
                    f.write(long(text, shape, n))
                times.append(cost(binary, path))
            ratio = times[1] / max(times[0], 1e-6)
            print(f"| {what} ({shape}) | {times[0] * 1000:.0f} ms | {times[1] * 1000:.0f} ms"
                  f" | {ratio:.1f}× |", flush=True)


if __name__ == "__main__":
    main()
