#![no_main]
// The Curator reader over arbitrary bytes in a .jsonl file.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    curator_fuzz::read_as(data, "jsonl", curator::records::Format::Curator);
});
