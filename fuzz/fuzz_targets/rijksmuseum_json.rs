#![no_main]
// The RijksApiJson reader over arbitrary bytes in a .json file.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    curator_fuzz::read_as(data, "json", curator::records::Format::RijksApiJson);
});
