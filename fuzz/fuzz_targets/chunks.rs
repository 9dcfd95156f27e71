#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tower_cookie_sessions::fuzzing::chunks(data));
