//! Each reader on real rows of ../shared/corpus and on malformed rows written here.

mod common;

use std::io::Write;

use curator::records::{detect_format, read_paths, Format};

fn first_lines(path: &std::path::Path, n: usize) -> String {
    std::fs::read_to_string(path).unwrap().lines().take(n).map(|l| format!("{l}\n")).collect()
}

fn temp_file(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::File::create(&path).unwrap().write_all(text.as_bytes()).unwrap();
    path
}

#[test]
fn semart_real_rows_normalise() {
    let path = common::shared().join("corpus/semart/semart_val.jsonl");
    assert_eq!(detect_format(&path).unwrap(), Format::SemArt);
    let out = read_paths(&[path]).unwrap();
    assert_eq!(out.records.len(), 1069);
    assert!(out.skipped.is_empty(), "{:?}", out.skipped.first());
    let (r, at) = &out.records[0];
    assert_eq!(r.id, "semart:07635-89d_stil.jpg");
    assert_eq!(r.title, "Still-Life with Flowers and Fruit");
    assert_eq!(r.makers, ["Caravaggio"]);
    assert_eq!(r.medium.as_deref(), Some("Oil on canvas"));
    assert_eq!(r.dimensions.as_deref(), Some("105 x 184 cm"));
    assert_eq!((r.year_start, r.year_end), (Some(1594), Some(1594)));
    assert_eq!(at.line, 1);
    let gogh = out.records.iter().find(|(r, _)| r.makers.iter().any(|m| m == "Vincent van Gogh"));
    assert!(gogh.is_some(), "\"GOGH, Vincent van\" should read as Vincent van Gogh");
}

#[test]
fn tate_real_rows_normalise() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_file(&dir, "tate.jsonl", &first_lines(&common::shared().join("corpus/tate/tate_artworks.jsonl"), 50));
    let out = read_paths(&[path]).unwrap();
    assert_eq!(out.records.len(), 50);
    let (r, _) = &out.records[0];
    assert_eq!(r.id, "tate:T00990");
    assert_eq!(r.title, "La Rue St Denis");
    assert_eq!(r.makers, ["Thomas Girtin"]);
    assert_eq!(r.object_type.as_deref(), Some("on paper, unique"));
    assert!(r.subjects.contains(&"Paris, Rue Saint Denis".to_string()));
    // Tate writes "date not known": it becomes no date, not a date shown as "(date not known)" (issue 13.3).
    assert!(out.records.iter().all(|(r, _)| r.date.as_deref() != Some("date not known")));
    let undated = out.records.iter().find(|(r, _)| r.date.is_none()).expect("the first 50 rows hold an undated work");
    assert_eq!(undated.0.year_start, None);
}

#[test]
fn rijksmuseum_api_json_real_rows_normalise() {
    let path = common::shared().join("corpus/rijksmuseum/cdellebovi_S06_RijksRecords_DutchNationality.json");
    assert_eq!(detect_format(&path).unwrap(), Format::RijksApiJson);
    let out = read_paths(&[path]).unwrap();
    assert_eq!(out.records.len(), 421);
    let (r, at) = &out.records[0];
    assert_eq!(r.id, "rijks:BK-NM-1010-241");
    assert_eq!(r.title, "Finding of Moses");
    assert_eq!(r.year_start, Some(1690));
    assert_eq!(r.dimensions.as_deref(), Some("height 13.5 cm, width 11.5 cm"));
    assert_eq!(at.line, 2, "line of the object's opening brace");
}

#[test]
fn rijksmuseum_export_csv_real_rows_normalise() {
    let path = common::shared().join("corpus/rijksmuseum/suriname_objecten_export.csv");
    assert_eq!(detect_format(&path).unwrap(), Format::RijksExportCsv);
    let out = read_paths(&[path]).unwrap();
    assert_eq!(out.records.len() + out.skipped.len(), 3668);
    let (r, _) = out.records.iter().find(|(r, _)| r.id == "rijks:SK-A-2637").unwrap();
    assert_eq!(r.language, "nl");
    assert_eq!(r.title, "Portret van een Surinaams meisje");
    assert_eq!(r.makers, ["anoniem"]);
    assert_eq!(r.medium.as_deref(), Some("ivoor, verf, hout, metaal, verguldsel"));
    assert_eq!((r.year_start, r.year_end), (Some(1805), Some(1805)));
    let (first, _) = &out.records[0];
    assert_eq!(first.id, "rijks:SK-A-1671", "the byte-order mark must not hide the first column");
}

#[test]
fn malformed_jsonl_rows_are_reported_with_file_and_line_and_the_rest_goes_in() {
    let dir = tempfile::tempdir().unwrap();
    let good = r#"{"acno": "T1", "title": "A", "artist": "X"}"#;
    let text = format!("{good}\n{{not json\n{{\"acno\": \"T2\"}}\n\n{}\n", good.replace("T1", "T3"));
    let path = temp_file(&dir, "tate.jsonl", &text);
    let out = read_paths(&[path.clone()]).unwrap();
    assert_eq!(out.records.iter().map(|(r, _)| r.id.as_str()).collect::<Vec<_>>(), ["tate:T1", "tate:T3"]);
    let skipped: Vec<(u64, &str)> = out.skipped.iter().map(|s| (s.at.line, s.reason.as_str())).collect();
    assert_eq!(skipped.len(), 2);
    assert_eq!(skipped[0].0, 2);
    assert!(skipped[0].1.contains("invalid JSON"));
    assert_eq!(skipped[1], (3, "missing title"));
    assert!(out.skipped.iter().all(|s| s.at.file == path));
}

#[test]
fn malformed_csv_rows_are_reported_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let text = "\u{feff}objectnummer;titel;vervaardiger\nSK-1;Een;anoniem\nSK-2;Twee\n;Geen nummer;x\nSK-4;Vier;a$b$a\n";
    let path = temp_file(&dir, "export.csv", text);
    let out = read_paths(&[path]).unwrap();
    let ids: Vec<&str> = out.records.iter().map(|(r, _)| r.id.as_str()).collect();
    assert_eq!(ids, ["rijks:SK-1", "rijks:SK-4"]);
    assert_eq!(out.records[1].0.makers, ["a", "b"], "multi-values split on $ and de-duplicated");
    let lines: Vec<u64> = out.skipped.iter().map(|s| s.at.line).collect();
    assert_eq!(lines, [3, 4]);
}

#[test]
fn malformed_rijksmuseum_json_objects_are_skipped_not_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let text = "[\n {\"objectNumber\": \"SK-A-1\", \"title\": \"One\"},\n {\"title\": \"no number\"},\n 7,\n {\"objectNumber\": \"SK-A-2\", \"title\": \"Two\", \"dateOfProduction\": 1650}\n]\n";
    let path = temp_file(&dir, "api.json", text);
    let out = read_paths(&[path]).unwrap();
    assert_eq!(out.records.len(), 2);
    assert_eq!(out.skipped.iter().map(|s| s.at.line).collect::<Vec<_>>(), [3, 4]);
}

#[test]
fn curator_jsonl_gets_its_source_prefix_and_years() {
    let dir = tempfile::tempdir().unwrap();
    let text = r#"{"id": "X-1", "source": "mymuseum", "title": "A vase", "date": "c. 1700-10"}
{"id": "mymuseum:X-2", "source": "mymuseum", "title": "Another", "year_start": 1900}
{"id": "X-3", "title": "no source"}
"#;
    let path = temp_file(&dir, "own.jsonl", text);
    let out = read_paths(&[path]).unwrap();
    assert_eq!(out.records[0].0.id, "mymuseum:X-1");
    assert_eq!((out.records[0].0.year_start, out.records[0].0.year_end), (Some(1700), Some(1710)));
    assert_eq!(out.records[1].0.year_end, Some(1900));
    assert_eq!(out.skipped.len(), 1);
}

#[test]
fn duplicate_ids_keep_the_first_and_report_the_second() {
    let dir = tempfile::tempdir().unwrap();
    let row = r#"{"acno": "T1", "title": "A"}"#;
    let path = temp_file(&dir, "tate.jsonl", &format!("{row}\n{row}\n"));
    let out = read_paths(&[path]).unwrap();
    assert_eq!(out.records.len(), 1);
    assert!(out.skipped[0].reason.contains("duplicate id tate:T1"));
}

#[test]
fn an_unknown_file_is_skipped_with_a_reason_and_a_missing_one_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    temp_file(&dir, "people.csv", "id,name\n1,x\n");
    let out = read_paths(&[dir.path().to_path_buf()]).unwrap();
    assert_eq!(out.skipped_files.len(), 1);
    assert!(read_paths(&[dir.path().join("nope.jsonl")]).is_err());
}

/// Issue 13.3: Rijksmuseum export titles kept the raw `$` join of a work's titles.
#[test]
fn a_rijksmuseum_export_title_is_the_first_of_its_titles() {
    let dir = tempfile::tempdir().unwrap();
    let text = "objectnummer;titel;vervaardiger\nSK-A-1;Koopman en een bediende$Portret van een koopman;Jan van Noordt\n";
    let path = temp_file(&dir, "export.csv", text);
    let out = read_paths(&[path]).unwrap();
    let record = &out.records[0].0;
    assert_eq!(record.title, "Koopman en een bediende");
    assert!(record.description.as_deref().unwrap_or_default().contains("Portret van een koopman"), "the other title stays searchable");
}

/// Issue 13.7: each of these said something a user could not act on (or nothing at all).
#[test]
fn curator_jsonl_rows_are_refused_with_the_field_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let text = concat!(
        r#"{"source": "mymuseum", "title": "No id"}"#, "\n",
        r#"{"id": "mymuseum:2", "source": "mymuseum", "title": "One maker", "makers": "Ann Painter"}"#, "\n",
        r#"{"id": "other:B7", "source": "mymuseum", "title": "Another museum's id"}"#, "\n",
        r#"{"id": "mymuseum:4", "source": "mymuseum", "title": "Wrong type", "year_start": "soon"}"#, "\n",
    );
    let out = read_paths(&[temp_file(&dir, "mine.jsonl", text)]).unwrap();
    let ids: Vec<&str> = out.records.iter().map(|(r, _)| r.id.as_str()).collect();
    assert_eq!(ids, ["mymuseum:2"]);
    assert_eq!(out.records[0].0.makers, ["Ann Painter"], "a lone maker given as a string is a list of one");
    let reasons: Vec<(u64, &str)> = out.skipped.iter().map(|s| (s.at.line, s.reason.as_str())).collect();
    assert_eq!(reasons[0].0, 1);
    assert!(reasons[0].1.contains("missing \"id\""), "{reasons:?}");
    assert!(reasons[1].1.contains("\"other\"") && reasons[1].1.contains("\"mymuseum\""), "{reasons:?}");
    assert!(reasons[2].1.contains("year_start"), "the field is named: {reasons:?}");
}

#[test]
fn files_curator_cannot_read_are_reported_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("export");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(folder.join("empty.jsonl"), "").unwrap();
    std::fs::write(folder.join("notes.txt"), "hello").unwrap();
    std::fs::write(folder.join("table.csv"), "id,title,maker\n1,a,b\n").unwrap();
    // A link back to the folder itself: followed, it would be read forever (issue 11).
    std::os::unix::fs::symlink(&folder, folder.join("loop")).unwrap();
    let out = read_paths(&[folder.clone()]).unwrap();
    let reason = |name: &str| {
        out.skipped_files.iter().find(|(p, _)| p.ends_with(name)).map(|(_, why)| why.clone()).unwrap_or_else(|| panic!("{name} not reported: {:?}", out.skipped_files))
    };
    assert!(reason("empty.jsonl").contains("empty"), "{}", reason("empty.jsonl"));
    assert!(reason("notes.txt").contains(".jsonl, .json or .csv"));
    assert!(reason("table.csv").contains("convert"), "{}", reason("table.csv"));
    assert!(reason("loop").contains("cycle"), "{}", reason("loop"));
}
