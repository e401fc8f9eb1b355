//! What scripts/prepare.sh is still building while the server runs (issue 12.8). The script writes
//! `<data_dir>/building.json` before each step ({"pid", "state", "step", "todo", "failed", "log"}) and
//! removes it when every step is done; a step that failed or was stopped leaves it behind, saying so. The
//! server reports it on /healthz, on the dashboard and in its log.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// The file's name in the data directory.
pub const STATUS_FILE: &str = "building.json";

#[derive(Debug, Deserialize)]
struct StatusFile {
    pid: u32,
    state: State,
    step: String,
    #[serde(default)]
    todo: Vec<String>,
    #[serde(default)]
    failed: Vec<String>,
    #[serde(default)]
    log: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Running,
    /// A step failed (the first failed one is `step`).
    Failed,
    /// Stopped by a signal during `step` (the server it ran beside was stopped).
    Stopped,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Building {
    pub state: State,
    /// The step under way ("ingest ../shared/corpus"), or the one it failed or stopped at.
    pub step: String,
    /// The steps after it.
    pub todo: Vec<String>,
    /// Steps that failed before this one (the script goes on after a failed gate fit or training).
    pub failed: Vec<String>,
    /// Where the script's output goes (empty when it goes to a terminal).
    pub log: String,
    /// Whether the script is still running: killed outright, it leaves "running" behind.
    pub running: bool,
}

impl Building {
    /// One line for the log and the dashboard.
    pub fn describe(&self) -> String {
        let mut line = match (self.state, self.running) {
            (State::Running, true) => format!("still building: {}", self.step),
            (State::Failed, _) => format!("building failed: {}", self.step),
            // Re-running scripts/run.sh goes on where it stopped.
            (State::Stopped, _) | (State::Running, false) => format!("building stopped during: {}; scripts/run.sh goes on from there", self.step),
        };
        if self.running && !self.todo.is_empty() {
            line.push_str(&format!("; then {}", self.todo.join(", then ")));
        }
        if !self.failed.is_empty() {
            line.push_str(&format!("; failed before: {}", self.failed.join(", ")));
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
    let running = file.state == State::Running && process_exists(file.pid);
    Some(Building { state: file.state, step: file.step, todo: file.todo, failed: file.failed, log: file.log, running })
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
        let write = |text: String| std::fs::write(dir.path().join(STATUS_FILE), text).unwrap();
        assert_eq!(read(dir.path()), None, "no file: nothing is being built");
        let own = std::process::id();
        write(format!(r#"{{"pid": {own}, "state": "running", "step": "ingest corpus", "todo": ["train the reranker"], "failed": [], "log": "/tmp/b.log"}}"#));
        let running = read(dir.path()).unwrap();
        assert!(running.running);
        assert_eq!(running.describe(), "still building: ingest corpus; then train the reranker (log: /tmp/b.log)");
        // Killed outright (no process has pid u32::MAX): the file still says running.
        write(r#"{"pid": 4294967295, "state": "running", "step": "ingest corpus", "log": ""}"#.into());
        let killed = read(dir.path()).unwrap();
        assert!(!killed.running);
        assert_eq!(killed.describe(), "building stopped during: ingest corpus; scripts/run.sh goes on from there");
        write(format!(r#"{{"pid": {own}, "state": "failed", "step": "train the reranker", "failed": ["fit the answer gate"]}}"#));
        let failed = read(dir.path()).unwrap();
        assert!(!failed.running, "a failed step is not running, whatever the pid");
        assert_eq!(failed.describe(), "building failed: train the reranker; failed before: fit the answer gate");
    }
}
