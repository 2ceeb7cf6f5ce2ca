//! Any bytes into the protocol reader; whatever parses is written back in every version.
//! Nothing may panic. Run: see connector/fuzz/README.md.
#![no_main]

use athena_connector::protocol::{parse_message, SerDeVersion};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = parse_message(data) {
        for v in 2..=6 {
            let _ = parsed.message.to_json(SerDeVersion::new(v).unwrap());
        }
    }
});
