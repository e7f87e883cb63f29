//! Fuzzes the TFLite reader (the bounds-checked flatbuffer reader and translation) and the
//! compiler behind it.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| edgegen_fuzz::compile(edgegen_fuzz::Reader::TfLite, bytes));
