//! Benchmarks, not tests: ingest throughput per stage, search latency per mode, and the HNSW graph against
//! exact search. Every figure in the README comes from these commands; absolute times on a shared
//! machine are noise, so compare figures from one run.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::app::Curator;
use crate::config::Settings;
use crate::index::{disk_size, Filters, Generation};
use crate::ingest::IngestOptions;
use crate::records::read_paths;
use crate::retrieve::Mode;

#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// Ingest PATHS into a fresh, temporary data directory and time each stage.
    Ingest {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Write the figures as JSON here too.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Build the index in this new directory and keep it (for `bench search`), instead of a
        /// temporary one.
        #[arg(long)]
        keep: Option<PathBuf>,
    },
    /// Time every search mode over a fixed query set against the current index, and compare the HNSW
    /// graph with exact search at several ef.
    Search {
        #[arg(long, default_value = "eval/bench_queries.txt")]
        queries: PathBuf,
        /// Timed repetitions of each query per mode (after one warm-up).
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Also build FAISS's HNSW over the same vectors with the same M and efConstruction and put it
        /// beside curator's graph: this script (scripts/faiss-hnsw.py; scripts/bench-faiss.sh runs it all).
        #[arg(long)]
        faiss: Option<PathBuf>,
        /// The Python that runs the --faiss script (one with faiss-cpu and numpy).
        #[arg(long, default_value = "python3")]
        python: PathBuf,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Answer questions with the configured model against the current index, in one process as the
    /// server does: time to first token, prompt and generation speed; and llama.cpp's own llama-bench
    /// for the same model and threads, when given.
    Answer {
        #[arg(long, default_value = "eval/bench_queries.txt")]
        queries: PathBuf,
        /// Questions answered (the first N of the file), after one warm-up answer.
        #[arg(long, default_value_t = 10)]
        questions: usize,
        /// Sources given to the model per question (default: answer.sources, as served).
        #[arg(long)]
        k: Option<usize>,
        /// llama-bench binary (scripts/build-llama-bench.sh builds it).
        #[arg(long)]
        llama_bench: Option<PathBuf>,
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

pub fn run(command: BenchCommand, settings: Settings) -> Result<()> {
    match command {
        BenchCommand::Ingest { paths, out, keep } => bench_ingest(settings, &paths, out, keep),
        BenchCommand::Search { queries, runs, faiss, python, out } => {
            let faiss = faiss.map(|script| FaissRunner { script, python });
            bench_search(settings, &queries, runs, faiss.as_ref(), out)
        }
        BenchCommand::Answer { queries, questions, k, llama_bench, out } => bench_answer(settings, &queries, questions, k, llama_bench, out),
    }
}

#[derive(Debug, Serialize)]
struct IngestFigures {
    records: usize,
    chunks: usize,
    /// Distinct chunk texts run through the model; the other chunks repeat one of them.
    chunks_embedded: usize,
    chunks_reused: usize,
    embed_seconds: f64,
    read_records_per_s: f64,
    chunk_records_per_s: f64,
    embed_chunks_per_s: f64,
    text_index_chunks_per_s: f64,
    vector_index_chunks_per_s: f64,
    write_seconds: f64,
    total_seconds: f64,
    peak_memory_mb: f64,
    disk_mb: DiskFigures,
}

#[derive(Debug, Serialize)]
struct DiskFigures {
    tantivy: f64,
    hnsw: f64,
    record_store: f64,
    total: f64,
}

fn bench_ingest(mut settings: Settings, paths: &[PathBuf], out: Option<PathBuf>, keep: Option<PathBuf>) -> Result<()> {
    let scratch = tempfile::Builder::new().prefix("curator-bench-").tempdir().context("temporary data directory")?;
    let data_dir = match keep {
        Some(dir) => {
            anyhow::ensure!(!dir.join("CURRENT").exists(), "{} already holds an index; give a new directory", dir.display());
            dir
        }
        None => scratch.path().to_path_buf(),
    };
    settings.paths.data_dir = data_dir.display().to_string();
    let curator = Curator::open(settings)?;
    let started = Instant::now();
    let outcome = read_paths(paths)?;
    let read = started.elapsed().as_secs_f64();
    let records: Vec<_> = outcome.records.into_iter().map(|(r, _)| r).collect();
    let n = records.len();
    let report = curator.ingest(records, &[], &IngestOptions::default(), &|done, total| {
        if done == total || done % 5120 == 0 {
            eprintln!("embedded {done}/{total} records after {:.0}s", started.elapsed().as_secs_f64());
        }
    })?;
    let total = started.elapsed().as_secs_f64();
    let generation = curator.load_generation()?;
    let chunks = generation.manifest.live_chunks;
    let t = &report.timings;
    let per_s = |count: usize, secs: f64| if secs > 0.0 { count as f64 / secs } else { 0.0 };
    let mb = |b: u64| b as f64 / 1_048_576.0;
    let hnsw = ["vectors.hnsw.graph", "vectors.hnsw.data"].iter().map(|f| disk_size(&generation.dir.join(f))).sum();
    let store = ["records.jsonl", "chunks.jsonl"].iter().map(|f| disk_size(&generation.dir.join(f))).sum();
    let figures = IngestFigures {
        records: n,
        chunks,
        chunks_embedded: report.chunks_embedded,
        chunks_reused: report.chunks_reused,
        embed_seconds: t.embed.as_secs_f64(),
        read_records_per_s: per_s(n, read),
        chunk_records_per_s: per_s(n, t.chunk.as_secs_f64()),
        // Every chunk the stage gave a vector, as before texts were embedded once: comparable across runs.
        embed_chunks_per_s: per_s(report.chunks_embedded + report.chunks_reused, t.embed.as_secs_f64()),
        text_index_chunks_per_s: per_s(chunks, t.text_index.as_secs_f64()),
        vector_index_chunks_per_s: per_s(chunks, t.vector_index.as_secs_f64()),
        write_seconds: t.write.as_secs_f64(),
        total_seconds: total,
        peak_memory_mb: peak_memory_mb(),
        disk_mb: DiskFigures {
            tantivy: mb(disk_size(&generation.tantivy_dir())),
            hnsw: mb(hnsw),
            record_store: mb(store),
            total: mb(disk_size(&generation.dir)),
        },
    };
    println!("| stage | throughput |\n|---|---|");
    println!("| read | {:.0} records/s |", figures.read_records_per_s);
    println!("| chunk | {:.0} records/s |", figures.chunk_records_per_s);
    println!(
        "| embed | {:.1} chunks/s ({} distinct texts in {:.0} s; {} chunks repeat one) |",
        figures.embed_chunks_per_s, figures.chunks_embedded, figures.embed_seconds, figures.chunks_reused
    );
    println!("| BM25 index (tantivy) | {:.0} chunks/s |", figures.text_index_chunks_per_s);
    println!("| vector index (HNSW build) | {:.0} chunks/s |", figures.vector_index_chunks_per_s);
    println!("| write + checksums | {:.1} s |", figures.write_seconds);
    println!(
        "\n{} records, {} chunks in {:.0} s; peak memory {:.0} MB; on disk {:.0} MB (tantivy {:.0}, HNSW {:.0}, record store {:.0})",
        n, chunks, total, figures.peak_memory_mb, figures.disk_mb.total, figures.disk_mb.tantivy, figures.disk_mb.hnsw, figures.disk_mb.record_store
    );
    write_json(out, &figures)
}

#[derive(Debug, Serialize)]
struct ModeLatency {
    mode: String,
    p50_ms: f64,
    p95_ms: f64,
    embed_p50_ms: f64,
    bm25_p50_ms: f64,
    dense_p50_ms: f64,
}

#[derive(Debug, Serialize, Deserialize)]
struct AnnPoint {
    ef: usize,
    recall_at_10: f64,
    queries_per_s: f64,
}

/// FAISS's HNSW on the same vectors, queries, M and efConstruction (scripts/faiss-hnsw.py).
#[derive(Debug, Serialize, Deserialize)]
struct FaissFigures {
    faiss: String,
    points: usize,
    build_s: f64,
    search: Vec<AnnPoint>,
}

struct FaissRunner {
    script: PathBuf,
    python: PathBuf,
}

#[derive(Debug, Serialize)]
struct SearchFigures {
    records: usize,
    chunks: usize,
    queries: usize,
    runs: usize,
    modes: Vec<ModeLatency>,
    exact_queries_per_s: f64,
    hnsw: Vec<AnnPoint>,
    max_connections: usize,
    ef_construction: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    faiss: Option<FaissFigures>,
}

fn bench_search(settings: Settings, queries_path: &PathBuf, runs: usize, faiss: Option<&FaissRunner>, out: Option<PathBuf>) -> Result<()> {
    let text = std::fs::read_to_string(queries_path).with_context(|| format!("reading {}", queries_path.display()))?;
    let queries: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    anyhow::ensure!(!queries.is_empty(), "no queries in {}", queries_path.display());
    let curator = Curator::open(settings)?;
    let generation = curator.load_generation()?;

    let mut modes = Vec::new();
    for mode in [Mode::Bm25, Mode::Dense, Mode::Hybrid] {
        let (mut total, mut embed, mut bm25, mut dense) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for query in &queries {
            let request = curator.request(query, mode, None, Filters::default());
            curator.search(&generation, &request)?;
            for _ in 0..runs {
                let t = curator.search(&generation, &request)?.timings;
                total.push(t.total_ms);
                embed.push(t.embed_query_ms);
                bm25.push(t.bm25_ms);
                dense.push(t.dense_ms);
            }
        }
        modes.push(ModeLatency {
            mode: mode.to_string(),
            p50_ms: percentile(&mut total, 0.50),
            p95_ms: percentile(&mut total, 0.95),
            embed_p50_ms: percentile(&mut embed, 0.50),
            bm25_p50_ms: percentile(&mut bm25, 0.50),
            dense_p50_ms: percentile(&mut dense, 0.50),
        });
    }

    let (exact_qps, hnsw, faiss) = ann_tradeoff(&curator, &generation, &queries, runs, faiss)?;
    let figures = SearchFigures {
        records: generation.manifest.records,
        chunks: generation.manifest.live_chunks,
        queries: queries.len(),
        runs,
        modes,
        exact_queries_per_s: exact_qps,
        hnsw,
        max_connections: curator.settings.hnsw.max_connections,
        ef_construction: curator.settings.hnsw.ef_construction,
        faiss,
    };
    println!("{} records, {} chunks; {} queries x {} runs\n", figures.records, figures.chunks, figures.queries, runs);
    println!("| mode | p50 ms | p95 ms | query embedding p50 | BM25 p50 | dense p50 |\n|---|---|---|---|---|---|");
    for m in &figures.modes {
        println!("| {} | {:.1} | {:.1} | {:.1} | {:.2} | {:.2} |", m.mode, m.p50_ms, m.p95_ms, m.embed_p50_ms, m.bm25_p50_ms, m.dense_p50_ms);
    }
    println!("\n| dense top-10 | recall@10 vs exact | queries/s |\n|---|---|---|");
    println!("| exact scan | 1.000 | {:.0} |", figures.exact_queries_per_s);
    for p in &figures.hnsw {
        println!("| HNSW ef={} | {:.3} | {:.0} |", p.ef, p.recall_at_10, p.queries_per_s);
    }
    if let Some(f) = &figures.faiss {
        println!(
            "\nSame {} vectors, M {}, efConstruction {}, one search thread each; FAISS {} built its graph in {:.0} s.\n",
            f.points, figures.max_connections, figures.ef_construction, f.faiss, f.build_s
        );
        println!("| ef | curator recall@10 | FAISS recall@10 | curator queries/s | FAISS queries/s | curator / FAISS queries/s |\n|---|---|---|---|---|---|");
        for (ours, theirs) in figures.hnsw.iter().zip(&f.search) {
            println!(
                "| {} | {:.3} | {:.3} | {:.0} | {:.0} | {:.2} |",
                ours.ef,
                ours.recall_at_10,
                theirs.recall_at_10,
                ours.queries_per_s,
                theirs.queries_per_s,
                ours.queries_per_s / theirs.queries_per_s
            );
        }
    }
    write_json(out, &figures)
}

const ANN_EFS: [usize; 4] = [10, 50, 100, 200];

/// Recall@10 of the graph against an exact scan of the same vectors, and queries/s, at several ef; and
/// FAISS's, when asked.
fn ann_tradeoff(
    curator: &Curator,
    generation: &Generation,
    queries: &[&str],
    runs: usize,
    faiss: Option<&FaissRunner>,
) -> Result<(f64, Vec<AnnPoint>, Option<FaissFigures>)> {
    const K: usize = 10;
    let vectors = curator.embedder_for(generation).embed(queries)?;
    let store = &generation.store;
    let live: Vec<u32> = store.live_chunks().map(|c| c.id).collect();
    let t = Instant::now();
    let exact: Vec<Vec<u32>> = vectors
        .iter()
        .map(|q| generation.vectors.exact_search(q, K, live.iter().copied()).into_iter().map(|(id, _)| id).collect())
        .collect();
    let exact_qps = queries.len() as f64 / t.elapsed().as_secs_f64();
    let mut points = Vec::new();
    for ef in ANN_EFS {
        let keep = |id: u32| store.chunk(id).is_some();
        let mut found = 0;
        let t = Instant::now();
        for _ in 0..runs.max(1) {
            found = 0;
            for (q, truth) in vectors.iter().zip(&exact) {
                let got = generation.vectors.search(q, K, ef, &keep);
                found += got.iter().filter(|(id, _)| truth.contains(id)).count();
            }
        }
        let elapsed = t.elapsed().as_secs_f64();
        points.push(AnnPoint {
            ef,
            recall_at_10: found as f64 / (K * queries.len()) as f64,
            queries_per_s: (queries.len() * runs.max(1)) as f64 / elapsed,
        });
    }
    let faiss = match faiss {
        Some(runner) => Some(run_faiss(runner, generation, &curator.settings.hnsw, &live, &vectors, &exact, runs)?),
        None => None,
    };
    Ok((exact_qps, points, faiss))
}

/// Writes the live vectors, the queries and the exact answers (as row numbers) for the FAISS script,
/// runs it, and reads its figures.
fn run_faiss(
    runner: &FaissRunner,
    generation: &Generation,
    hnsw: &crate::config::HnswSettings,
    live: &[u32],
    queries: &[Vec<f32>],
    exact: &[Vec<u32>],
    runs: usize,
) -> Result<FaissFigures> {
    let dir = tempfile::Builder::new().prefix("curator-faiss-").tempdir().context("temporary directory for FAISS")?;
    let little_endian = |values: &mut dyn Iterator<Item = [u8; 4]>| -> Vec<u8> { values.flatten().collect() };
    let vectors: Vec<&[f32]> = live.iter().filter_map(|&id| generation.vectors.vector(id)).collect();
    anyhow::ensure!(vectors.len() == live.len(), "{} live chunks have no vector", live.len() - vectors.len());
    let row_of: std::collections::HashMap<u32, u32> = live.iter().enumerate().map(|(row, &id)| (id, row as u32)).collect();
    std::fs::write(dir.path().join("vectors.f32"), little_endian(&mut vectors.iter().flat_map(|v| v.iter()).map(|x| x.to_le_bytes())))?;
    std::fs::write(dir.path().join("queries.f32"), little_endian(&mut queries.iter().flatten().map(|x| x.to_le_bytes())))?;
    std::fs::write(dir.path().join("truth.u32"), little_endian(&mut exact.iter().flatten().map(|id| row_of[id].to_le_bytes())))?;
    let efs: Vec<String> = ANN_EFS.iter().map(usize::to_string).collect();
    let output = std::process::Command::new(&runner.python)
        .arg(&runner.script)
        .args(["--dir", &dir.path().display().to_string()])
        .args(["--dimensions", &crate::embed::DIMENSIONS.to_string()])
        .args(["--m", &hnsw.max_connections.to_string(), "--ef-construction", &hnsw.ef_construction.to_string()])
        .args(["--efs", &efs.join(","), "--k", "10", "--runs", &runs.max(1).to_string()])
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("running {} {}", runner.python.display(), runner.script.display()))?;
    anyhow::ensure!(output.status.success(), "{} failed ({})", runner.script.display(), output.status);
    serde_json::from_slice(&output.stdout).with_context(|| format!("reading what {} printed", runner.script.display()))
}

#[derive(Debug, Serialize)]
struct AnswerFigures {
    model: String,
    threads: usize,
    flash_attention: bool,
    questions: usize,
    sources: usize,
    prompt_tokens_p50: f64,
    /// Prompt tokens whose KV state came from the previous question (the fixed instructions).
    reused_tokens_p50: f64,
    retrieval_p50_ms: f64,
    /// Of retrieval: the cross-encoder reordering the fused candidates.
    rerank_p50_ms: f64,
    /// Scoring the top records' sentences and choosing the evidence (every question, declined ones too).
    evidence_p50_ms: f64,
    first_token_p50_ms: f64,
    first_token_p95_ms: f64,
    prompt_tokens_per_s_p50: f64,
    generation_tokens_per_s_p50: f64,
    llama_bench: Option<serde_json::Value>,
    /// curator's generation tokens/s over llama-bench's at the same depth (1.0: no overhead).
    generation_ratio: Option<f64>,
    prompt_ratio: Option<f64>,
}

fn bench_answer(settings: Settings, queries_path: &PathBuf, questions: usize, k: Option<usize>, llama_bench: Option<PathBuf>, out: Option<PathBuf>) -> Result<()> {
    let text = std::fs::read_to_string(queries_path).with_context(|| format!("reading {}", queries_path.display()))?;
    let queries: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).take(questions + 1).collect();
    anyhow::ensure!(queries.len() >= 2, "{} needs at least two queries", queries_path.display());
    let mut curator = Curator::open(settings)?;
    curator.load_llm()?;
    let generation = curator.load_generation()?;
    let (mut prompt_tokens, mut reused, mut retrieval, mut first, mut prompt_speed, mut speed) = (vec![], vec![], vec![], vec![], vec![], vec![]);
    let (mut rerank, mut evidence) = (vec![], vec![]);
    for (i, query) in queries.iter().enumerate() {
        let request = crate::app::AskRequest { question: query.to_string(), k, ..Default::default() };
        let answer = curator.ask(&generation, &request, &mut |_| true)?;
        if i > 0 {
            rerank.push(answer.timings.retrieval.rerank_ms);
            evidence.push(answer.timings.evidence_ms);
        }
        let Some(stats) = answer.generation else { continue };
        eprintln!("{}/{} {:.0} ms to first token, {} prompt tokens: {}", i, queries.len() - 1, answer.timings.first_token_ms.unwrap_or(0.0), stats.prompt_tokens, query);
        if i == 0 {
            continue; // warm-up: nothing cached yet
        }
        let evaluated = (stats.prompt_tokens - stats.reused_tokens) as f64;
        prompt_tokens.push(stats.prompt_tokens as f64);
        reused.push(stats.reused_tokens as f64);
        retrieval.push(answer.timings.retrieval.total_ms);
        first.push(answer.timings.first_token_ms.unwrap_or(0.0));
        prompt_speed.push(evaluated * 1000.0 / stats.prompt_ms.max(1e-6));
        speed.push(stats.tokens_per_second);
    }
    let g = &curator.settings.generation;
    let threads = crate::threads_or_all_cores(g.threads);
    let prompt_tokens_p50 = percentile(&mut prompt_tokens, 0.5);
    let reused_tokens_p50 = percentile(&mut reused, 0.5);
    let bench = match &llama_bench {
        Some(path) => Some(run_llama_bench(
            path,
            &curator.settings.llm_path(),
            threads,
            g.flash_attention,
            prompt_tokens_p50 as usize,
            reused_tokens_p50 as usize,
        )?),
        None => None,
    };
    let generation_tps = percentile(&mut speed, 0.5);
    let prompt_tps = percentile(&mut prompt_speed, 0.5);
    let figures = AnswerFigures {
        model: curator.settings.llm_path().display().to_string(),
        threads,
        flash_attention: g.flash_attention,
        questions: first.len(),
        sources: k.unwrap_or(curator.settings.answer.sources),
        prompt_tokens_p50,
        reused_tokens_p50,
        retrieval_p50_ms: percentile(&mut retrieval, 0.5),
        rerank_p50_ms: percentile(&mut rerank, 0.5),
        evidence_p50_ms: percentile(&mut evidence, 0.5),
        first_token_p50_ms: percentile(&mut first, 0.5),
        first_token_p95_ms: percentile(&mut first, 0.95),
        prompt_tokens_per_s_p50: prompt_tps,
        generation_tokens_per_s_p50: generation_tps,
        generation_ratio: bench.as_ref().map(|b| generation_tps / b.1),
        prompt_ratio: bench.as_ref().map(|b| prompt_tps / b.0),
        llama_bench: bench.map(|b| b.2),
    };
    println!("{}", serde_json::to_string_pretty(&figures)?);
    write_json(out, &figures)
}

/// llama-bench's tokens/s for the same work as a median answer: evaluating `prompt - reused` prompt
/// tokens after `reused` cached ones, and generating 64 tokens after `prompt` tokens of context.
fn run_llama_bench(binary: &PathBuf, model: &std::path::Path, threads: usize, flash: bool, prompt: usize, reused: usize) -> Result<(f64, f64, serde_json::Value)> {
    let run = |args: &[String]| -> Result<serde_json::Value> {
        let output = std::process::Command::new(binary)
            .args(["-m", &model.display().to_string(), "-t", &threads.to_string(), "-fa", if flash { "1" } else { "0" }, "-r", "3", "-o", "json"])
            .args(args)
            .output()
            .with_context(|| format!("running {}", binary.display()))?;
        anyhow::ensure!(output.status.success(), "llama-bench failed: {}", String::from_utf8_lossy(&output.stderr));
        let runs: serde_json::Value = serde_json::from_slice(&output.stdout).context("llama-bench JSON")?;
        runs.as_array().and_then(|r| r.first()).cloned().context("llama-bench printed no run")
    };
    let prompt_run = run(&["-p".into(), (prompt - reused).to_string(), "-n".into(), "0".into(), "-d".into(), reused.to_string()])?;
    let generation_run = run(&["-p".into(), "0".into(), "-n".into(), "64".into(), "-d".into(), prompt.to_string()])?;
    let rate = |r: &serde_json::Value| r["avg_ts"].as_f64().unwrap_or(0.0);
    Ok((rate(&prompt_run), rate(&generation_run), serde_json::json!([prompt_run, generation_run])))
}

pub fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let rank = (p * (values.len() - 1) as f64).round() as usize;
    values[rank.min(values.len() - 1)]
}

/// Peak resident memory of this process (VmHWM), in MB; 0 where /proc is not available.
pub fn peak_memory_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok()))
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Writes a report as pretty JSON to `out`, when given.
pub fn write_json<T: Serialize>(out: Option<PathBuf>, value: &T) -> Result<()> {
    if let Some(path) = out {
        std::fs::write(&path, serde_json::to_string_pretty(value)? + "\n").with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

