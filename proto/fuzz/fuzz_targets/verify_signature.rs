//! Verifies arbitrary (and curve-crafted) key, signature and message bytes: never a panic, and
//! the single and batch paths always agree.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| volt_proto_fuzz::verify_signature(data));
