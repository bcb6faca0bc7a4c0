//! Decodes arbitrary bytes as a transaction; whatever decodes must re-encode to the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| volt_proto_fuzz::decode_signed_tx(data));
