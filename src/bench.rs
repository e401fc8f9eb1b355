//! Benchmarks (not tests): ingest throughput per stage and search latency per mode.
use crate::config::Settings;

#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// Placeholder.
    Ingest,
}

pub fn run(_what: BenchCommand, _settings: Settings) -> anyhow::Result<()> {
    Ok(())
}
