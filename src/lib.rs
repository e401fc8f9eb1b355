//! curator: cited question answering over museum collections.
//!
//! The modules follow the pipeline, each depending only on the stages before it:
//! [`records`] -> [`ingest`] (chunking, embedding via [`embed`]) -> [`index`] -> [`retrieve`].
//! The binary (src/main.rs) is a thin command line over these; see ARCHITECTURE.md.

pub mod app;
pub mod bench;
pub mod config;
pub mod embed;
pub mod eval;
pub mod index;
pub mod ingest;
pub mod models;
pub mod records;
pub mod retrieve;
