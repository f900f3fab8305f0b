//! Fuzz target over the parser's two entry points, `parse` and `envelope`, on arbitrary bytes.
//! Must never assert anything the parser does not promise: no panic, and a sane invitation.
#![no_main]

use dragoman_fuzz::invitation::{envelope, parse, to_json};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = envelope(data);
    let result = parse(data);
    if let Ok(inv) = &result {
        if let Some(id) = &inv.meeting_id {
            assert!(!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()));
        }
        assert!(!inv.join_url.is_empty());
        assert!(!inv.host.is_empty());
    }
    let _ = to_json("fuzz", &result);
});
