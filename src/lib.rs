//! curator: cited question answering over museum collections.
//!
//! The modules follow the pipeline, each depending only on the stages before it:
//! [`records`] -> [`ingest`] (chunking, embedding via [`embed`]) -> [`index`] -> [`retrieve`] -> [`generate`],
//! assembled by [`app`] and served by [`server`]; [`eval`] and [`bench`] measure every stage.
//! The binary (src/main.rs) is a thin command line over these; see ARCHITECTURE.md.

pub mod app;
pub mod bench;
pub mod config;
pub mod embed;
pub mod evidence;
pub mod feedback;
pub mod eval;
pub mod gate;
pub mod generate;
pub mod index;
pub mod ingest;
pub mod models;
pub mod records;
pub mod retrieve;
pub mod server;

/// The threads a `threads` setting asks for: the number itself, or every core for 0.
pub fn threads_or_all_cores(setting: usize) -> usize {
    if setting > 0 {
        setting
    } else {
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    }
}
