#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wire::fuzz_targets::snapshot_chunk(data));
