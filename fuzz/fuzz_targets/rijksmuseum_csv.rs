#![no_main]
// The RijksExportCsv reader over arbitrary bytes in a .csv file.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    curator_fuzz::read_as(data, "csv", curator::records::Format::RijksExportCsv);
});
