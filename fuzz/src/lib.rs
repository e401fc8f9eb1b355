//! What the fuzz targets share: a reader is fed a file of arbitrary bytes, as `curator ingest` would be,
//! and whatever it accepts must hold the invariants every index relies on.

use std::io::Write;

use curator::records::{detect_format, read_file, validate, Format, ReadOutcome};

/// Writes `data` to a file named `*.{extension}` and reads it as `format`; then checks what was read.
/// Reading may report the file or its rows as bad, but never panic, and every record it keeps is valid.
pub fn read_as(data: &[u8], extension: &str, format: Format) {
    let mut file = tempfile::Builder::new().suffix(&format!(".{extension}")).tempfile_in(scratch()).expect("a scratch file");
    file.write_all(data).expect("writing the scratch file");
    file.flush().expect("flushing the scratch file");
    // Recognising the format must not panic either, whatever it decides.
    let _ = detect_format(file.path());
    let mut outcome = ReadOutcome::default();
    if read_file(file.path(), format, &mut outcome).is_err() {
        return;
    }
    for (record, at) in &outcome.records {
        assert_eq!(at.file, file.path());
        assert!(at.line >= 1);
        let again = validate(record.clone()).unwrap_or_else(|e| panic!("a kept record is invalid ({e}): {record:?}"));
        assert_eq!(&again, record, "validation is not idempotent");
        let (source, native) = record.id.split_once(':').expect("id is source:native");
        assert_eq!(source, record.source);
        assert!(!native.trim().is_empty() && !record.title.trim().is_empty());
        let _ = record.content_hash();
    }
}

/// A RAM-backed folder when there is one: the targets write a file per input.
fn scratch() -> std::path::PathBuf {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() { shm.to_path_buf() } else { std::env::temp_dir() }
}
