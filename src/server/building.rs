//! What scripts/prepare.sh is still building while the server runs (issue 12.8). The script writes
//! `<data_dir>/building.json` before each step ({"pid", "step", "todo", "log"}) and removes it when every
//! step is done; the server reports it on /healthz, on the dashboard and in its log.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// The file's name in the data directory.
pub const STATUS_FILE: &str = "building.json";

#[derive(Debug, Deserialize)]
struct StatusFile {
    pid: u32,
    step: String,
    #[serde(default)]
    todo: Vec<String>,
    #[serde(default)]
    log: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Building {
    /// The step under way ("ingest ../shared/corpus"), or "failed: <step>".
    pub step: String,
    /// The steps after it.
    pub todo: Vec<String>,
    /// Where the script's output goes (empty when it goes to a terminal).
    pub log: String,
    /// Whether the script is still running: a script stopped mid-step leaves its file behind.
    pub running: bool,
}

impl Building {
    /// One line for the log and the dashboard.
    pub fn describe(&self) -> String {
        let mut line = if self.running { format!("still building: {}", self.step) } else { format!("building stopped: {}", self.step) };
        if !self.todo.is_empty() {
            line.push_str(&format!("; then {}", self.todo.join(", then ")));
        }
        if !self.log.is_empty() {
            line.push_str(&format!(" (log: {})", self.log));
        }
        line
    }
}

/// What `data_dir/building.json` says, or None when nothing is being built (or the file cannot be read:
/// a half-written file is never there, the script renames it into place).
pub fn read(data_dir: &Path) -> Option<Building> {
    let text = std::fs::read_to_string(data_dir.join(STATUS_FILE)).ok()?;
    let file: StatusFile = serde_json::from_str(&text).ok()?;
    let running = !file.step.starts_with("failed") && process_exists(file.pid);
    Some(Building { step: file.step, todo: file.todo, log: file.log, running })
}

fn process_exists(pid: u32) -> bool {
    // Linux: every live process has a directory in /proc. Elsewhere the file is taken at its word.
    let proc = Path::new("/proc");
    !proc.is_dir() || proc.join(pid.to_string()).is_dir()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_left_by_a_stopped_script_says_it_stopped() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()), None, "no file: nothing is being built");
        let own = std::process::id();
        std::fs::write(dir.path().join(STATUS_FILE), format!(r#"{{"pid": {own}, "step": "ingest corpus", "todo": ["train the reranker"], "log": "/tmp/b.log"}}"#)).unwrap();
        let running = read(dir.path()).unwrap();
        assert!(running.running);
        assert_eq!(running.describe(), "still building: ingest corpus; then train the reranker (log: /tmp/b.log)");
        // No process has pid u32::MAX.
        std::fs::write(dir.path().join(STATUS_FILE), r#"{"pid": 4294967295, "step": "ingest corpus", "log": ""}"#).unwrap();
        let stopped = read(dir.path()).unwrap();
        assert!(!stopped.running);
        assert_eq!(stopped.describe(), "building stopped: ingest corpus");
        std::fs::write(dir.path().join(STATUS_FILE), format!(r#"{{"pid": {own}, "step": "failed: train the reranker"}}"#)).unwrap();
        assert!(!read(dir.path()).unwrap().running, "a failed step is not running, whatever the pid");
    }
}
