//! The `curator` command line: a thin face over the library. Errors are reported here, with anyhow.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use curator::app::Curator;
use curator::config::Settings;
use curator::eval::questions::AquaPart;
use curator::eval::{evaluate_retrieval, markdown, sample, Dataset, EvalMode};
use curator::index::{disk_size, Filters};
use curator::ingest::IngestOptions;
use curator::records::{read_paths, MuseumRecord, ReadOutcome};
use curator::retrieve::{Mode, SearchResponse};

#[derive(Parser)]
#[command(name = "curator", version, about = "Cited question answering over museum collections")]
struct Cli {
    /// Settings file laid over the built-in defaults (default: ./config.toml if present).
    #[arg(long, global = true, env = "CURATOR_CONFIG")]
    config: Option<PathBuf>,
    /// Log more (repeat for more still).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Read museum records (files or folders) and add them to the index.
    Ingest {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Build a new index from these records alone, ignoring the current one.
        #[arg(long)]
        rebuild: bool,
        /// Go ahead with a rebuild that drops records from the index without asking.
        #[arg(long)]
        yes: bool,
        /// Commit a generation after every N records (the first after N/8, then N/4, N/2), so that a
        /// running server searches a large first ingest while the rest is embedded (scripts/run.sh uses
        /// it; 0: once, at the end).
        #[arg(long, value_name = "N", default_value_t = 0)]
        commit_every: usize,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Serve the previous index generation again (the one kept after the latest ingest), e.g. after a
    /// rebuild that dropped records by mistake.
    Rollback,
    /// Embed every record of the index again with the configured embedding model, into a new generation
    /// (after the model changed, e.g. when the fine-tuned one has been trained). A running server switches
    /// to it when it is whole.
    Reembed {
        /// Only say whether the index was built with the configured model: exit 0 when it was, 3 when
        /// it needs embedding again.
        #[arg(long)]
        status: bool,
    },
    /// Remove records by id (e.g. tate:T00990).
    Delete {
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Search the index.
    Search {
        query: String,
        #[arg(long, value_enum, default_value_t = Mode::Hybrid)]
        mode: Mode,
        /// Results to return (default: retrieval.k).
        #[arg(short, long)]
        k: Option<usize>,
        /// field=value: source, object_type, maker, year (1800..1850), year_from, year_to. Repeatable.
        #[arg(long = "filter")]
        filters: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// More like this: the records nearest to one record by embedding, itself left out.
    Similar {
        /// The record id, e.g. tate:T00990.
        id: String,
        #[arg(short, long, default_value_t = 10)]
        k: usize,
        #[arg(long)]
        json: bool,
    },
    /// Vector arithmetic: the records nearest to the sum of the --plus terms minus the --minus terms, each
    /// a record id or a text (e.g. --plus tate:N01234 --minus man --plus woman).
    Arithmetic {
        /// A term to add: a record id, or a text. Repeatable.
        #[arg(long, required = true)]
        plus: Vec<String>,
        /// A term to subtract. Repeatable.
        #[arg(long)]
        minus: Vec<String>,
        #[arg(short, long, default_value_t = 10)]
        k: usize,
        #[arg(long)]
        json: bool,
    },
    /// Compute the map of the collection (every record placed in 2D by PCA and UMAP, and grouped) and
    /// cache it beside the current index generation, where `GET /api/map` and the map page read it.
    Map {
        /// Compute it again even when the generation has one.
        #[arg(long)]
        force: bool,
    },
    /// Print one record: every field and its chunks.
    Show {
        /// The record id, e.g. tate:T00990.
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Records and chunks per source, index sizes and models.
    Stats {
        #[arg(long)]
        json: bool,
        /// Also walk the HNSW graph: points per layer, out-degrees, points a search cannot reach.
        #[arg(long)]
        vectors: bool,
    },
    /// Print the settings in use.
    Settings,
    /// Measure retrieval quality and latency per mode on a question set.
    Eval {
        /// A question file (JSONL), AQUA's aqua_val.json (split by painting, see --part), a BEIR folder
        /// (corpus.jsonl, queries.jsonl, qrels/; indexed on its own under <data_dir>/eval/), or `makers`:
        /// browse queries naming a maker and a word of their titles, built from the index (see --part).
        questions: PathBuf,
        /// With an AQUA file: which part of its paintings to use (with `makers`: which part of the queries).
        #[arg(long, value_enum, default_value_t = AquaPart::Dev)]
        part: AquaPart,
        /// With a BEIR folder: the qrels split to judge with (`valid`: the train queries reranker training
        /// holds out).
        #[arg(long, default_value = "test")]
        split: String,
        /// Modes to run (hybrid+rerank needs the trained reranker).
        #[arg(long, value_enum, value_delimiter = ',', default_values_t = [EvalMode::Bm25, EvalMode::Dense, EvalMode::Hybrid])]
        modes: Vec<EvalMode>,
        /// Rerank depths to sweep for hybrid+rerank (default: rerank.depth).
        #[arg(long, value_delimiter = ',')]
        rerank_depths: Vec<usize>,
        /// Evaluate a sample of this many questions (chosen by --seed).
        #[arg(long)]
        limit: Option<usize>,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Write the report as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Evaluate generated answers (accuracy, citations, support, abstention, speed) instead of
        /// retrieval; needs the language model. Use --limit: each answer takes seconds.
        #[arg(long)]
        answers: bool,
        /// Sweep the abstention threshold: how the relevance of the best record separates answerable
        /// from unanswerable questions.
        #[arg(long, conflicts_with = "answers")]
        abstention: bool,
        /// With an AQUA file and --answers: this many questions of each kind (AQUA knowledge, AQUA picture,
        /// plain metadata questions about the part's records, the part's out-of-collection questions).
        #[arg(long, requires = "answers")]
        per_kind: Option<usize>,
        /// The folder of out-of-collection-<part>.jsonl, for --per-kind.
        #[arg(long, default_value = "eval/questions")]
        written: PathBuf,
    },
    /// Answer a question with cited records, streaming the answer to the terminal.
    Ask {
        question: String,
        /// field=value, as for search. Repeatable.
        #[arg(long = "filter")]
        filters: Vec<String>,
        /// Records given to the model (default: answer.sources).
        #[arg(short, long)]
        k: Option<usize>,
        /// Print the whole answer as JSON at the end instead of the citation list.
        #[arg(long)]
        json: bool,
    },
    /// Serve the HTTP API (OpenAI-compatible chat, cited answers, search, ingest, metrics).
    Serve {
        /// Address to listen on (default: server.bind).
        #[arg(long)]
        bind: Option<String>,
    },
    /// Write training groups for the reranker (scripts/train-reranker.sh runs this).
    RerankData {
        /// Output JSONL.
        #[arg(long)]
        out: PathBuf,
        /// AQUA's aqua_val.json: its train part of paintings, against the museum index.
        #[arg(long)]
        aqua: Option<PathBuf>,
        /// A BEIR folder: its train split, against its own index.
        #[arg(long)]
        beir: Option<PathBuf>,
        /// Questions made from Tate and Rijksmuseum metadata, per source.
        #[arg(long, default_value_t = 1500)]
        synthetic: usize,
        /// Plain title, maker, date and medium questions ("Who made The Milkmaid?") about records of the
        /// train part (and its valid tenth), never the dev or heldout records.
        #[arg(long, default_value_t = curator::eval::questions::RERANKER_PLAIN_QUESTIONS)]
        plain: usize,
        /// Browse queries that name a maker and a word of the maker's titles ("paintings of the Thames
        /// by Turner"), every such record of the maker a positive; pairs of the train part (and its valid
        /// tenth) only, never those `curator eval makers` reports on.
        #[arg(long, default_value_t = 800)]
        makers: usize,
        /// Readers' thumbs-up answers kept in the feedback database: the records each cited are its
        /// positives.
        #[arg(long)]
        feedback: bool,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Check the installed reranker on its fixture questions (plain title, maker and date questions): the
    /// record that answers each must outscore hybrid retrieval's other candidates with a probability of at
    /// least --min-probability. Exits with 1 when one fails.
    RerankCheck {
        #[arg(long, default_value = "eval/reranker-fixtures.jsonl")]
        fixtures: PathBuf,
        /// Where the answering records are read from (files or folders).
        #[arg(long, num_args = 1.., default_values = ["corpus/sample.jsonl", "../shared/corpus/tate"])]
        records: Vec<PathBuf>,
        #[arg(long, default_value_t = 0.5)]
        min_probability: f32,
        #[arg(long)]
        json: bool,
    },
    /// Fit the answer gate for the scorer in use and report it per part and kind of question.
    Gate {
        #[command(subcommand)]
        what: GateCommand,
    },
    /// Measure ingest and search (see README "Benchmarks").
    Bench {
        #[command(subcommand)]
        what: curator::bench::BenchCommand,
    },
}

/// Where `curator gate train` chooses the threshold (curator::eval::gate::ThresholdFrom).
#[derive(Clone, Copy, clap::ValueEnum)]
enum GateThresholdFrom {
    /// Fit on train and valid; choose on their out-of-fold probabilities (served).
    Folds,
    /// Fit on train; choose on valid (until 2026-12-02).
    Valid,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum GateClassifier {
    BoostedTrees,
    Logistic,
}

#[derive(Subcommand)]
enum GateCommand {
    /// Fit on the train and valid parts, choose the threshold on their out-of-fold probabilities, report
    /// on dev and heldout, and write the gate into the model cache (where `answer.gate` finds it).
    Train {
        /// AQUA's aqua_val.json.
        #[arg(long)]
        aqua: PathBuf,
        /// The folder of out-of-collection-{train,valid,dev,heldout}.jsonl.
        #[arg(long, default_value = "eval/questions")]
        questions: PathBuf,
        /// Parts to report on besides valid (dev, heldout); without it the gate is only fitted.
        #[arg(long, value_enum, value_delimiter = ',')]
        report: Vec<AquaPart>,
        /// Reuse the examples computed by an earlier run for this scorer (features are not recomputed).
        #[arg(long)]
        reuse_examples: bool,
        /// Report only: leave the gate in the model cache as it is (to compare classifiers).
        #[arg(long)]
        dry_run: bool,
        /// The classifier: gradient-boosted trees (served), or the logistic regression they replaced.
        #[arg(long, value_enum, default_value_t = GateClassifier::BoostedTrees)]
        classifier: GateClassifier,
        /// Where the threshold is chosen: out-of-fold over train and valid (served), or on valid alone.
        #[arg(long, value_enum, default_value_t = GateThresholdFrom::Folds)]
        threshold_from: GateThresholdFrom,
        /// The logistic regression's L2 penalty.
        #[arg(long, default_value_t = 1e-3)]
        l2: f32,
        /// The logistic regression's gradient steps.
        #[arg(long, default_value_t = 3000)]
        steps: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Write the report as JSON here (and as Markdown beside it).
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Say whether a gate is fitted for the scorer in use (exit status 0), not fitted (3) or switched off
    /// by answer.gate = false (4).
    Status,
}

fn main() {
    let cli = Cli::parse();
    // `curator settings | head` panicked with "failed printing to stdout: Broken pipe": Rust ignores
    // SIGPIPE, so println! fails once the reader is gone. A command that prints stops quietly instead, as
    // Unix tools do; the server keeps ignoring it (a client that leaves must not stop it).
    if !matches!(cli.command, Command::Serve { .. }) {
        // SAFETY: called before any thread starts; SIG_DFL is a valid disposition for SIGPIPE.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    let level = match (cli.verbose, &cli.command) {
        // A server logs each request (issue 13.6); other commands stay quiet.
        (0, Command::Serve { .. }) => format!("warn,{}=info", curator::server::REQUEST_LOG),
        (0, _) => "warn".to_string(),
        (1, _) => "info".to_string(),
        _ => "debug".to_string(),
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("CURATOR_LOG").unwrap_or_else(|_| level.as_str().into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    if let Err(error) = run(cli) {
        eprintln!("error: {}", error_chain(&error));
        std::process::exit(1);
    }
}

/// The error and its causes, each said once: the library's errors already name their cause in their own
/// message ("cannot read X: No such file"), and anyhow's `{:#}` would append it again (issue 13.7).
fn error_chain(error: &anyhow::Error) -> String {
    let mut message = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !message.contains(&cause) {
            message.push_str(": ");
            message.push_str(&cause);
        }
    }
    message
}

fn load_settings(config: Option<PathBuf>) -> Result<Settings> {
    let file = config.or_else(|| Some(PathBuf::from("config.toml")).filter(|p| p.is_file()));
    for var in curator::config::unknown_env_vars(std::env::vars().map(|(name, _)| name)) {
        eprintln!("warning: {var} is not a setting and is ignored (settings are CURATOR_<SECTION>_<KEY>, e.g. CURATOR_RERANK_DEPTH; `curator settings` lists them)");
    }
    Ok(Settings::load(file.as_deref())?)
}

fn run(cli: Cli) -> Result<()> {
    let settings = load_settings(cli.config)?;
    if cli.verbose > 0 {
        for line in settings.describe() {
            eprintln!("setting {line}");
        }
    }
    match cli.command {
        Command::Settings => {
            for line in settings.describe() {
                println!("{line}");
            }
            Ok(())
        }
        Command::Ingest { paths, rebuild, yes, commit_every, json } => {
            ingest(Curator::open(settings)?, &paths, &IngestOptions { rebuild, commit_every, replaces: None }, yes, json)
        }
        Command::Rollback => rollback(&Curator::open(settings)?),
        Command::Reembed { status } => reembed(&Curator::open(settings)?, status),
        Command::Delete { ids } => {
            let curator = Curator::open(settings)?;
            let report = curator.ingest(Vec::new(), &ids, &IngestOptions::default(), &|_, _| {})?;
            for id in &report.not_found {
                eprintln!("not in the index: {id}");
            }
            println!("deleted {} record(s){}", report.deleted, generation_note(report.generation));
            Ok(())
        }
        Command::Search { query, mode, k, filters, json } => {
            let filters = Filters::parse(filters.iter().map(String::as_str))?;
            let curator = Curator::open(settings)?;
            note_reranker_off(&curator);
            let generation = curator.load_generation()?;
            let source = filters.source.clone();
            let response = curator.search(&generation, &curator.request(&query, mode, k, filters))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&response)?);
            } else {
                print_search(&response, &generation);
            }
            // A source filter that names no source the index holds says which ones it does.
            if let Some(source) = source.filter(|s| !generation.manifest.records_per_source.contains_key(s)) {
                let known: Vec<&String> = generation.manifest.records_per_source.keys().collect();
                eprintln!("no record has source {source:?}; the sources in the index are {}", known.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "));
            }
            Ok(())
        }
        Command::Stats { json, vectors } => stats(Curator::open(settings)?, json, vectors),
        Command::Show { id, json } => show(Curator::open(settings)?, &id, json),
        Command::Arithmetic { plus, minus, k, json } => {
            let curator = Curator::open(settings)?;
            let generation = curator.load_generation().context("loading the current index")?;
            let ef = curator.settings.hnsw.ef_search;
            let (terms, hits) = curator::retrieve::arithmetic(&generation, &curator.embedder_for(&generation), &plus, &minus, k.clamp(1, 100), ef)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "terms": terms, "hits": hits }))?);
            } else {
                let read: Vec<String> = terms.iter().map(|t| format!("{} {} ({})", t.sign, t.term, t.read_as)).collect();
                println!("{}", read.join(" "));
                print_nearest(&hits);
            }
            Ok(())
        }
        Command::Map { force } => {
            let curator = Curator::open(settings)?;
            let generation = curator.load_served_generation().context("loading the current index")?;
            let path = curator::retrieve::map::map_path(&generation);
            if !force {
                if let Some(map) = curator::retrieve::map::cached(&generation)? {
                    println!("{}: the map of {} records is already there (--force computes it again)", path.display(), map.ids.len());
                    return Ok(());
                }
            }
            eprintln!("computing the map of {} records", generation.store.record_count());
            let map = curator::retrieve::map::compute(&generation, &curator.settings.hnsw)?;
            curator::retrieve::map::save(&generation, &map)?;
            let mut seconds: Vec<_> = map.seconds.iter().collect();
            seconds.sort_by(|a, b| a.0.cmp(b.0));
            let took: Vec<String> = seconds.iter().map(|(part, s)| format!("{part} {s:.1} s")).collect();
            println!("{}: {} records, {} groups ({})", path.display(), map.ids.len(), map.clusters.len(), took.join(", "));
            for cluster in &map.clusters {
                println!("  {:>6}  {}", cluster.size, cluster.label);
            }
            Ok(())
        }
        Command::Similar { id, k, json } => {
            let curator = Curator::open(settings)?;
            let generation = curator.load_served_generation().context("loading the current index")?;
            let hits = curator::retrieve::similar(&generation, id.trim(), k.clamp(1, 100), curator.settings.hnsw.ef_search)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "hits": hits }))?);
            } else {
                print_nearest(&hits);
            }
            Ok(())
        }
        Command::Bench { what } => curator::bench::run(what, settings),
        Command::Gate { what: GateCommand::Status } => {
            let curator = Curator::open(settings)?;
            // The gate a server would serve: the one for the model that built the index.
            if curator.serve_current_model().is_ok() {
                curator.reload_scoring();
            }
            let scoring = curator.scoring();
            println!("{}", scoring.gate_status);
            if !curator.settings.answer.gate {
                std::process::exit(4);
            }
            if scoring.gate.is_none() {
                std::process::exit(3);
            }
            Ok(())
        }
        Command::Gate { what: GateCommand::Train { aqua, questions, report, reuse_examples, dry_run, classifier, threshold_from, l2, steps, seed, json } } => {
            let model = match classifier {
                GateClassifier::BoostedTrees => curator::gate::GateModel::BoostedTrees,
                GateClassifier::Logistic => curator::gate::GateModel::Logistic { l2, steps },
            };
            let from = match threshold_from {
                GateThresholdFrom::Folds => curator::eval::gate::ThresholdFrom::Folds,
                GateThresholdFrom::Valid => curator::eval::gate::ThresholdFrom::Valid,
            };
            gate_train(settings, &aqua, &questions, &report, reuse_examples, dry_run, model, from, seed, json)
        }
        Command::RerankData { out, aqua, beir, synthetic, plain, makers, feedback, seed } => {
            rerank_data(settings, &out, aqua, beir, synthetic, plain, makers, feedback, seed)
        }
        Command::RerankCheck { fixtures, records, min_probability, json } => rerank_check(settings, &fixtures, &records, min_probability, json),
        Command::Ask { question, filters, k, json } => ask(settings, question, filters, k, json),
        Command::Serve { bind } => serve(settings, bind),
        Command::Eval { questions, part, split, modes, rerank_depths, limit, seed, json, answers, abstention, per_kind, written } => {
            let dataset = Dataset::detect(&questions, part, &split);
            let (mut curator, all) = dataset.open(settings, &|done, total| eprintln!("indexing {done}/{total} documents"))?;
            let generation = curator.load_generation()?;
            let sampled = sample(all, limit, seed);
            if abstention {
                let report = curator::eval::answers::abstention_sweep(&curator, &generation, &sampled)?;
                print!("{}", curator::eval::answers::abstention_markdown(&report));
                return curator::bench::write_json(json, &report);
            }
            if answers {
                curator.load_llm()?;
                eprintln!("{}", curator.scoring().gate_status);
                let kinds: Vec<(String, curator::eval::Question)> = match per_kind {
                    Some(n) => {
                        let sizes = curator::eval::gate::PartSizes { aqua_knowledge: n, aqua_picture: n, metadata: n, out_of_collection: n };
                        curator::eval::gate::part_questions(&generation, &questions, &written, part, sizes, seed)?
                    }
                    None => sampled.into_iter().map(|q| ((if q.answerable { "answerable" } else { "unanswerable" }).to_string(), q)).collect(),
                };
                let report = curator::eval::answers::evaluate_answers(&curator, &generation, &dataset.name(), &kinds, &|done, total, row| {
                    eprintln!("{done}/{total} {} {}: {}", row.kind, row.id, row.answer.replace('\n', " "));
                })?;
                print!("{}", curator::eval::answers::answers_markdown(&report));
                return curator::bench::write_json(json, &report);
            }
            let report = evaluate_retrieval(&curator, &generation, &dataset.name(), &sampled, &modes, &rerank_depths, seed, &|mode, done, total| {
                if done % 200 == 0 || done == total {
                    eprintln!("{mode}: {done}/{total}");
                }
            })?;
            print!("{}", markdown(&report));
            curator::bench::write_json(json, &report)
        }
    }
}

fn ask(settings: Settings, question: String, filters: Vec<String>, k: Option<usize>, json: bool) -> Result<()> {
    use std::io::Write;
    use curator::app::{AskEvent, AskRequest};
    let filters = Filters::parse(filters.iter().map(String::as_str))?;
    let mut curator = Curator::open(settings)?;
    note_reranker_off(&curator);
    curator.load_llm()?;
    let generation = curator.load_generation()?;
    let request = AskRequest { question, history: Vec::new(), filters, k };
    let mut stdout = std::io::stdout();
    // Between the sources and the first token the model reads the prompt (seconds on 2 cores): say so.
    // indicatif draws nothing when stderr is not a terminal.
    let waiting = ProgressBar::new_spinner();
    let answer = curator.ask(&generation, &request, &mut |event| {
        match event {
            AskEvent::Retrieved { sources, abstained, .. } if !json && !abstained => {
                for s in sources {
                    eprintln!("[{}] {} — {} ({})", s.number, s.title, s.makers.join("; "), s.record_id);
                }
                eprintln!();
                waiting.set_message(format!("the model is reading the evidence of {} sources…", sources.len()));
                waiting.enable_steady_tick(std::time::Duration::from_millis(120));
            }
            AskEvent::Delta(text) if !json => {
                waiting.finish_and_clear();
                let _ = write!(stdout, "{text}");
                let _ = stdout.flush();
            }
            _ => {}
        }
        true
    })?;
    waiting.finish_and_clear();
    if json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(());
    }
    println!("\n");
    if let Some(years) = answer.years_from_query {
        eprintln!("{}", years_filter_note(years, "question"));
    }
    if answer.abstained {
        eprintln!("declined by {} ({} {:.3})", answer.declined_by.as_deref().unwrap_or("?"), answer.relevance_signal, answer.relevance);
        for record in &answer.closest {
            println!("  closest: {} — {} ({})", record.title, record.makers.join("; "), record.record_id);
        }
    }
    for sentence in &answer.sentences {
        let mark = match sentence.support {
            curator::generate::Support::Supported => "supported",
            curator::generate::Support::Unsupported => "NOT SUPPORTED by its sources",
            curator::generate::Support::Uncited => "no citation",
            curator::generate::Support::NoClaim => continue,
        };
        let repaired = if sentence.model_cited.is_empty() {
            String::new()
        } else {
            let cited: Vec<String> = sentence.model_cited.iter().map(|n| format!("[{n}]")).collect();
            format!(" (re-pointed: the model cited {})", cited.join(", "))
        };
        println!("  - {mark}{repaired}: {}", sentence.text);
    }
    for c in &answer.citations {
        println!("[{}] {} ({}) lexical {:.2} semantic {:.2}: \"{}\"", c.number, c.title, c.record_id, c.lexical, c.semantic, c.snippet);
    }
    let t = &answer.timings;
    eprintln!(
        "retrieval {:.0} ms, first token {:.0} ms, {:.1} tokens/s, total {:.0} ms",
        t.retrieval.total_ms,
        t.first_token_ms.unwrap_or(0.0),
        answer.generation.as_ref().map_or(0.0, |g| g.tokens_per_second),
        t.total_ms
    );
    Ok(())
}

fn serve(mut settings: Settings, bind: Option<String>) -> Result<()> {
    if let Some(bind) = bind {
        settings.server.bind = bind;
    }
    // The address is checked before minutes of model loading: a port in use or a malformed address is
    // reported at once.
    let address = &settings.server.bind;
    let probe = std::net::TcpListener::bind(address.as_str()).with_context(|| {
        format!("cannot listen on {address:?} (server.bind, or --bind): expected HOST:PORT such as 127.0.0.1:8080, on a free port")
    })?;
    drop(probe);
    println!("curator {}: loading the models for {address}", env!("CARGO_PKG_VERSION"));
    let mut curator = Curator::open(settings)?;
    if let Err(e) = curator.load_llm() {
        eprintln!("warning: {e}; /v1/chat/completions and /api/ask answer 503 until the model is there");
    }
    let state = curator::server::AppState::new(curator);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(curator::server::serve(state))?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn rerank_data(
    settings: Settings,
    out: &PathBuf,
    aqua: Option<PathBuf>,
    beir: Option<PathBuf>,
    synthetic: usize,
    plain: usize,
    makers: usize,
    feedback: bool,
    seed: u64,
) -> Result<()> {
    use curator::eval::mining::{feedback_questions, mentions_all_terms, mine, synthetic_questions};
    let mut groups = Vec::new();
    let never = |_: &curator::eval::Question, _: &str| false;
    {
        let curator = Curator::open(settings.clone())?;
        let generation = curator.load_generation()?;
        if let Some(path) = aqua {
            let questions = curator::eval::questions::load_aqua(&path, AquaPart::Train)?;
            // Split by painting: every question of one painting lands on the same side.
            let painting = |q: &curator::eval::Question| q.relevant.keys().next().cloned().unwrap_or_default();
            let mined = mine(&curator, &generation, &questions, "aqua", &painting, &never)?;
            eprintln!("aqua: {} groups", mined.len());
            groups.extend(mined);
        }
        if synthetic > 0 {
            let questions = synthetic_questions(&generation, synthetic, seed);
            let record = |q: &curator::eval::Question| q.id.clone();
            let mined = mine(&curator, &generation, &questions, "metadata", &record, &mentions_all_terms)?;
            eprintln!("metadata: {} groups", mined.len());
            groups.extend(mined);
        }
        if plain > 0 {
            use curator::eval::questions::{metadata_questions, Wording};
            let mut questions = metadata_questions(&generation, AquaPart::Train, plain, seed, Wording::Varied);
            questions.extend(metadata_questions(&generation, AquaPart::Valid, plain / 9, seed, Wording::Varied));
            let record = |q: &curator::eval::Question| q.relevant.keys().next().cloned().unwrap_or_default();
            let mined = mine(&curator, &generation, &questions, "plain", &record, &never)?;
            eprintln!("plain: {} groups", mined.len());
            groups.extend(mined);
        }
        if makers > 0 {
            use curator::eval::questions::{maker_queries, Wording};
            let mut questions = maker_queries(&generation, AquaPart::Train, makers, seed, Wording::Varied);
            questions.extend(maker_queries(&generation, AquaPart::Valid, makers / 9, seed, Wording::Varied));
            // The key `maker_queries` splits parts by, so that its valid part is the validation split.
            let pair = |q: &curator::eval::Question| curator::eval::questions::maker_query_key(&q.id);
            let mined = mine(&curator, &generation, &questions, "makers", &pair, &never)?;
            eprintln!("makers: {} groups", mined.len());
            groups.extend(mined);
        }
        if feedback {
            let path = curator.settings.data_dir().join("feedback.sqlite");
            let stored = curator::feedback::FeedbackStore::open(&path)?.list()?;
            let questions = feedback_questions(&stored);
            let id = |q: &curator::eval::Question| q.id.clone();
            let mined = mine(&curator, &generation, &questions, "feedback", &id, &never)?;
            eprintln!("feedback: {} groups from {} ratings ({} thumbs-up with citations)", mined.len(), stored.len(), questions.len());
            groups.extend(mined);
        }
    }
    if let Some(dir) = beir {
        let dataset = Dataset::Beir(dir, "train".into());
        let (curator, questions) = dataset.open(settings, &|done, total| eprintln!("indexing {done}/{total} documents"))?;
        let generation = curator.load_generation()?;
        let id = |q: &curator::eval::Question| q.id.clone();
        let mined = mine(&curator, &generation, &questions, "scifact", &id, &never)?;
        eprintln!("beir: {} groups", mined.len());
        groups.extend(mined);
    }
    let mut text = String::new();
    for g in &groups {
        text.push_str(&serde_json::to_string(g)?);
        text.push('\n');
    }
    std::fs::write(out, text).with_context(|| format!("writing {}", out.display()))?;
    eprintln!("wrote {} groups to {}", groups.len(), out.display());
    Ok(())
}

/// Says why results are not reranked when reranking is on but its model is missing.
fn note_reranker_off(curator: &Curator) {
    let scoring = curator.scoring();
    if scoring.reranker.is_none() && curator.settings.rerank.enabled {
        eprintln!("note: {}", scoring.reranker_status);
    }
}

fn generation_note(generation: Option<u64>) -> String {
    generation.map_or_else(|| "; nothing changed, index untouched".to_string(), |g| format!("; now generation {g}"))
}

fn rerank_check(settings: Settings, fixtures: &std::path::Path, records: &[PathBuf], min_probability: f32, json: bool) -> Result<()> {
    let curator = Curator::open(settings)?;
    let scoring = curator.scoring();
    let Some(reranker) = scoring.reranker.as_deref() else { bail!("{}", scoring.reranker_status) };
    let generation = curator.load_generation()?;
    let fixtures = curator::eval::fixtures::load(fixtures)?;
    let records: Vec<MuseumRecord> = read_paths(records)?.records.into_iter().map(|(r, _)| r).collect();
    let depth = curator.settings.rerank.depth;
    let results = curator::eval::fixtures::check(&curator, reranker, &generation, &records, &fixtures, depth, min_probability)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&results)?);
    } else {
        println!("| question | record | probability | rank among candidates |\n|---|---|---|---|");
        for r in &results {
            println!(
                "| {} | {} | {:.3} | {} of {}{} |",
                r.question,
                r.record_id.as_deref().unwrap_or("(not found in the records read)"),
                r.probability,
                r.rank,
                r.candidates,
                if r.passed { "" } else { " **failed**" }
            );
        }
    }
    let failed = results.iter().filter(|r| !r.passed).count();
    if failed > 0 {
        bail!("{failed} of {} fixture questions failed (probability under {min_probability} or outranked); reranker {}", results.len(), reranker.identity().path.display());
    }
    Ok(())
}

/// Switches `CURRENT` back to the previous generation, after loading it.
fn rollback(curator: &Curator) -> Result<()> {
    let lock = curator.data.lock_writer()?;
    let (from, to) = curator.data.rollback(&lock, |dir| curator.load_generation_at(dir).map(|_| ()))?;
    let records = |dir: &std::path::Path| curator::index::read_manifest(dir).map(|m| m.records).unwrap_or(0);
    let name = curator::index::generation_name;
    println!(
        "rolled back from generation {} ({} records) to generation {} ({} records); the next ingest removes {}",
        name(&from),
        records(&from),
        name(&to),
        records(&to),
        name(&from)
    );
    Ok(())
}

/// `curator reembed`: the current generation's records, embedded with the configured model.
fn reembed(curator: &Curator, status_only: bool) -> Result<()> {
    let manifest = curator.current_manifest()?.context("no index to embed again: run `curator ingest PATH` first")?;
    let built_with = &manifest.embedding;
    let configured = curator.embedder();
    let short = |sha: &str| sha.chars().take(12).collect::<String>();
    if curator.built_as_configured(&manifest) {
        println!("the index is embedded with the configured model, {}, and chunked as configured", built_with.model_id);
        return Ok(());
    }
    if *built_with != *configured.identity() {
        println!(
            "the index is embedded with {} (sha256 {}); the configured model is {} (sha256 {})",
            built_with.model_id,
            short(&built_with.sha256),
            configured.identity().model_id,
            short(&configured.identity().sha256)
        );
    }
    if manifest.chunking != curator.settings.chunking {
        println!("the index is chunked with {:?}; the settings say {:?}", manifest.chunking, curator.settings.chunking);
    }
    if status_only {
        std::process::exit(3);
    }
    let started = Instant::now();
    let (bar, progress) = embedding_progress();
    let report = curator.reembed(&progress)?;
    bar.finish_and_clear();
    if let Some(report) = report {
        println!(
            "embedded {} records again ({} distinct chunk texts){}; {:.1}s in all",
            report.added,
            report.chunks_embedded,
            generation_note(report.generation),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// The records a rebuild from `records` would drop from the index: (how many, how many there are, a few ids).
fn rebuild_drops(curator: &Curator, records: &[MuseumRecord]) -> (usize, usize, Vec<String>) {
    // The record store alone: the ingest that follows loads nothing of the old generation when it rebuilds.
    match curator.current_record_store() {
        Ok(store) => {
            let kept: std::collections::HashSet<&str> = records.iter().map(|r| r.id.as_str()).collect();
            let dropped: Vec<String> =
                store.records().filter(|s| !kept.contains(s.record.id.as_str())).map(|s| s.record.id.clone()).collect();
            (dropped.len(), store.record_count(), dropped.into_iter().take(5).collect())
        }
        Err(curator::index::IndexError::Empty(_)) => (0, 0, Vec::new()),
        // Unreadable: every record of it goes.
        Err(_) => {
            let manifest = curator.current_manifest().ok().flatten();
            manifest.map_or((0, 0, Vec::new()), |m| (m.records, m.records, Vec::new()))
        }
    }
}

/// A rebuild that drops records goes ahead only with --yes or a "y" typed at a terminal.
fn confirm_rebuild(dropped: usize, total: usize, examples: &[String], yes: bool) -> Result<()> {
    if dropped == 0 || yes {
        return Ok(());
    }
    let what = format!(
        "this rebuild drops {dropped} of the {total} records in the index{}",
        if examples.is_empty() { String::new() } else { format!(" (for example {})", examples.join(", ")) }
    );
    if !std::io::stdin().is_terminal() {
        bail!("{what}; run it again with --yes to go ahead (the previous generation is kept, and `curator rollback` restores it)");
    }
    eprint!("{what}. Go ahead? [y/N] ");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    if !matches!(answer.trim().to_lowercase().as_str(), "y" | "yes") {
        bail!("rebuild cancelled; the index is as it was");
    }
    Ok(())
}

fn ingest(curator: Curator, paths: &[PathBuf], options: &IngestOptions, yes: bool, json: bool) -> Result<()> {
    let rebuild = options.rebuild;
    let started = Instant::now();
    let outcome = read_paths(paths)?;
    let read_time = started.elapsed();
    report_skipped(&outcome);
    let read = outcome.records.len();
    if read == 0 {
        bail!(
            "no records found in {}{}",
            paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
            if rebuild { "; the index was not rebuilt" } else { "" }
        );
    }
    let records: Vec<MuseumRecord> = outcome.records.into_iter().map(|(r, _)| r).collect();
    let removed = if rebuild {
        let (dropped, total, examples) = rebuild_drops(&curator, &records);
        confirm_rebuild(dropped, total, &examples, yes)?;
        dropped
    } else {
        0
    };
    let (bar, progress) = embedding_progress();
    let report = curator.ingest(records, &[], options, &progress)?;
    bar.finish_and_clear();
    let total = started.elapsed();
    if json {
        let value = serde_json::json!({
            "read": read,
            "skipped": outcome.skipped,
            "skipped_files": outcome.skipped_files,
            "removed": removed,
            "read_seconds": read_time.as_secs_f64(),
            "total_seconds": total.as_secs_f64(),
            "report": report,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    if !report.duplicate_ids.is_empty() {
        eprintln!(
            "{} id(s) were given more than once; the first record of each was kept: {}",
            report.duplicate_ids.len(),
            report.duplicate_ids.iter().take(10).cloned().collect::<Vec<_>>().join(", ")
        );
    }
    println!(
        "read {read} records in {:.1}s, skipped {} rows; added {}, updated {}, unchanged {}{}; \
         embedded {} distinct chunk texts, reused a vector for {} chunks{}; {:.1}s in all",
        read_time.as_secs_f64(),
        outcome.skipped.len(),
        report.added,
        report.updated,
        report.unchanged,
        if rebuild { format!(", removed {removed}") } else { String::new() },
        report.chunks_embedded,
        report.chunks_reused,
        generation_note(report.generation),
        total.as_secs_f64()
    );
    Ok(())
}

/// A progress bar of records embedded, and the callback an ingest moves it with.
fn embedding_progress() -> (ProgressBar, impl Fn(usize, usize) + Sync) {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} embedding {bar:30} {pos}/{len} records  {per_sec}  eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let moved = bar.clone();
    (bar, move |done: usize, total: usize| {
        moved.set_length(total as u64);
        moved.set_position(done as u64);
    })
}

fn report_skipped(outcome: &ReadOutcome) {
    const SHOWN: usize = 20;
    for (path, why) in &outcome.skipped_files {
        eprintln!("skipped file {}: {why}", path.display());
    }
    for skipped in outcome.skipped.iter().take(SHOWN) {
        eprintln!("skipped {}: {}", skipped.at, skipped.reason);
    }
    if outcome.skipped.len() > SHOWN {
        eprintln!("... and {} more skipped rows", outcome.skipped.len() - SHOWN);
    }
}

/// Says that the years written in a query or question became a year filter (issue 13.4).
fn years_filter_note((from, to): (i32, i32), written_in: &str) -> String {
    format!("(only works of {from}..{to}: the years in the {written_in} became a filter; an explicit --filter year=FROM..TO replaces it)")
}

/// About three lines of a terminal.
const SNIPPET_CHARS: usize = 240;

fn print_search(response: &SearchResponse, generation: &curator::index::Generation) {
    if let Some(years) = response.years_from_query {
        println!("{}", years_filter_note(years, "query"));
    }
    if response.hits.is_empty() {
        println!("no results for {:?}", response.query);
    }
    for hit in &response.hits {
        let stage = |s: Option<curator::retrieve::StageScore>| s.map_or("-".to_string(), |s| format!("#{} {:.3}", s.rank, s.score));
        println!(
            "{:>2}. {}  {} — {}{}",
            hit.rank,
            hit.record_id,
            hit.title,
            if hit.makers.is_empty() { "unknown maker".to_string() } else { hit.makers.join("; ") },
            // A maker may carry life dates ("Jan van Noordt (1623-1676)"): the work's date in parentheses
            // after it read as the maker's dates twice.
            hit.date.as_ref().map(|d| format!(", {d}")).unwrap_or_default()
        );
        println!(
            "    bm25 {}  dense {}  fused {}  rerank {}",
            stage(hit.stages.bm25),
            stage(hit.stages.dense),
            stage(hit.stages.fused),
            stage(hit.stages.rerank)
        );
        let snippet = curator::ingest::chunk::snippet(generation.store.get(&hit.record_id).map(|s| &s.record), &hit.chunk.text, SNIPPET_CHARS);
        println!("    {}", snippet.replace('\n', " "));
    }
    let t = &response.timings;
    println!(
        "[{}{} in {:.1} ms: embed {:.1}, bm25 {:.1}, dense {:.1}, fuse {:.2}, rerank {:.1}]",
        response.mode,
        if response.reranked { "+rerank" } else { "" },
        t.total_ms,
        t.embed_query_ms,
        t.bm25_ms,
        t.dense_ms,
        t.fuse_ms,
        t.rerank_ms
    );
}

/// Records found by embedding (more like this, vector arithmetic), one line each.
fn print_nearest(hits: &[curator::retrieve::Hit]) {
    for hit in hits {
        println!("{:>2}. {}  {} — {}  (cosine {:.3})", hit.rank, hit.record_id, hit.title, hit.makers.join("; "), hit.score);
    }
}

fn stats(curator: Curator, json: bool, vectors: bool) -> Result<()> {
    // Whichever model built it: stats say which (`curator reembed --status` says whether it is the configured one).
    let generation = curator.load_served_generation().context("loading the current index")?;
    let graph_stats = vectors.then(|| generation.vectors.graph_stats());
    let m = &generation.manifest;
    let tantivy = disk_size(&generation.tantivy_dir());
    let total = disk_size(&generation.dir);
    let graph: u64 = m.hnsw_basename.as_ref().map_or(0, |b| {
        disk_size(&generation.dir.join(format!("{b}.hnsw.graph"))) + disk_size(&generation.dir.join(format!("{b}.hnsw.data")))
    });
    let store = disk_size(&generation.dir.join("records.jsonl")) + disk_size(&generation.dir.join("chunks.jsonl"));
    if json {
        let value = serde_json::json!({
            "generation": m.generation,
            "dir": generation.dir,
            "records_per_source": m.records_per_source,
            "chunks_per_source": m.chunks_per_source,
            "records": m.records,
            "live_chunks": m.live_chunks,
            "graph_points": m.graph_points,
            "bytes": {"tantivy": tantivy, "hnsw": graph, "record_store": store, "total": total},
            "embedding": m.embedding,
            "chunking": m.chunking,
            "hnsw": m.hnsw,
            "graph": graph_stats,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    println!("generation {} in {}", m.generation, generation.dir.display());
    println!("{:<12} {:>9} {:>9}", "source", "records", "chunks");
    for (source, n) in &m.records_per_source {
        println!("{:<12} {:>9} {:>9}", source, n, m.chunks_per_source.get(source).copied().unwrap_or(0));
    }
    println!("{:<12} {:>9} {:>9}", "all", m.records, m.live_chunks);
    println!("graph points {} ({} tombstones)", m.graph_points, m.graph_points.saturating_sub(m.live_chunks));
    let mb = |b: u64| b as f64 / 1_048_576.0;
    println!(
        "on disk: tantivy {:.1} MB, hnsw {:.1} MB, record store {:.1} MB, total {:.1} MB",
        mb(tantivy),
        mb(graph),
        mb(store),
        mb(total)
    );
    println!("embedding: {} (sha256 {}…, {} dims)", m.embedding.model_id, &m.embedding.sha256[..12.min(m.embedding.sha256.len())], m.embedding.dimensions);
    let c = &m.chunking;
    println!("chunking: {} tokens, overlap {}, embed_bookkeeping {}", c.max_tokens, c.overlap_tokens, c.embed_bookkeeping);
    if let Some(g) = graph_stats {
        println!("hnsw graph: {} points, M {}", g.points, g.max_connections);
        println!("{:<6} {:>9} {:>9} {:>5} {:>5} {:>7} {:>5} {:>7}", "layer", "top here", "on layer", "min", "p50", "mean", "max", "no link");
        for (layer, d) in g.out_degree_by_layer.iter().enumerate() {
            let top_here = g.points_by_top_layer.get(layer).copied().unwrap_or(0);
            println!("{:<6} {:>9} {:>9} {:>5} {:>5} {:>7.1} {:>5} {:>7}", layer, top_here, d.points, d.min, d.p50, d.mean, d.max, d.zero);
        }
        println!("unreachable from the entry layer: {}; without in-links on layer 0: {}", g.unreachable_from_entry, g.without_in_links);
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn gate_train(
    settings: Settings,
    aqua: &std::path::Path,
    written: &std::path::Path,
    report_parts: &[AquaPart],
    reuse_examples: bool,
    dry_run: bool,
    model: curator::gate::GateModel,
    from: curator::eval::gate::ThresholdFrom,
    seed: u64,
    json: Option<PathBuf>,
) -> Result<()> {
    use curator::eval::gate::{examples, fit, markdown, part_name, part_questions, score_part, GateExample, GateReport, PartSizes};
    let curator = Curator::open(settings)?;
    // Whichever model built the index: the gate is named by it, so it is served only with that model's lists.
    let generation = curator.load_served_generation().context("the gate is fitted on the indexed collection; ingest it first")?;
    let scoring = curator.scoring();
    // Fitted on this generation's lists, so for the embedding model that built it.
    let embedder = curator.embedder_for(&generation);
    let key = scoring.gate_key(&embedder);
    let path = curator::gate::gate_path(&curator.models.dir, &key);
    let cache = path.with_extension("examples");
    std::fs::create_dir_all(&cache).with_context(|| format!("creating {}", cache.display()))?;
    eprintln!("fitting the answer gate for {key} ({})", scoring.evidence_scorer(&embedder).name());
    let mut parts: Vec<AquaPart> = vec![AquaPart::Train, AquaPart::Valid];
    parts.extend(report_parts.iter().filter(|p| !parts.contains(p)).copied().collect::<Vec<_>>());
    let mut by_part: Vec<(AquaPart, Vec<GateExample>)> = Vec::new();
    for part in parts {
        let file = cache.join(format!("{}.json", part_name(part)));
        let computed = if reuse_examples && file.is_file() {
            serde_json::from_slice(&std::fs::read(&file)?).with_context(|| format!("reading {}", file.display()))?
        } else {
            let questions = part_questions(&generation, aqua, written, part, PartSizes::for_part(part), seed)?;
            let name = part_name(part);
            let computed = examples(&curator, &generation, &questions, true, &|done, total| {
                if done % 100 == 0 || done == total {
                    eprintln!("{name}: {done}/{total} questions");
                }
            })?;
            std::fs::write(&file, serde_json::to_vec(&computed)?).with_context(|| format!("writing {}", file.display()))?;
            computed
        };
        by_part.push((part, computed));
    }
    let examples_of = |part: AquaPart| by_part.iter().find(|(p, _)| *p == part).map(|(_, e)| e.as_slice()).unwrap_or(&[]);
    let fitted = fit(examples_of(AquaPart::Train), examples_of(AquaPart::Valid), &key, model, from)?;
    let mut gate = fitted.gate;
    let reported = by_part.iter().filter(|(p, _)| !matches!(p, AquaPart::Train | AquaPart::Valid)).map(|(p, e)| score_part(&gate, part_name(*p), e));
    let parts: Vec<_> = std::iter::once(fitted.chosen_on).chain(reported).collect();
    let sha = curator::index::sha256_file;
    let mut written_files = serde_json::Map::new();
    for part in ["train", "valid", "dev", "heldout"] {
        let file = written.join(format!("out-of-collection-{part}.jsonl"));
        if file.is_file() {
            written_files.insert(file.display().to_string(), sha(&file)?.into());
        }
    }
    let counts: serde_json::Map<String, serde_json::Value> =
        by_part.iter().map(|(p, e)| (part_name(*p).to_string(), e.len().into())).collect();
    let answer = &curator.settings.answer;
    gate.manifest = serde_json::json!({
        "scorer": scoring.evidence_scorer(&embedder).name(),
        "reranker": scoring.reranker.as_ref().map(|r| r.identity().path.display().to_string()),
        "embedding": embedder.identity().model_id,
        "data": {"aqua": {"file": aqua.display().to_string(), "sha256": sha(aqua)?}, "out_of_collection": written_files,
                 "examples_per_part": counts, "index_generation": generation.manifest.generation, "records": generation.manifest.records},
        "settings": curator::gate::FittedSettings {
            classifier: model.settings(),
            seed,
            sources: curator::gate::RECORDS,
            evidence_budget_tokens: answer.evidence_budget_tokens,
            candidates: curator.settings.retrieval.candidates,
            rerank_depth: curator.settings.rerank.depth,
            bm25_drop_stopwords: answer.bm25_drop_stopwords,
        },
        "threshold": {"chosen_on": parts[0].part, "spread_p10_p90": [fitted.threshold_spread.0, fitted.threshold_spread.1]},
        "scores": parts,
    });
    if !dry_run {
        gate.save(&path)?;
    }
    let (feature_weight, features) = gate.feature_weights();
    let report = GateReport {
        scorer: key,
        gate_file: path.clone(),
        classifier: gate.classifier.name().to_string(),
        threshold: gate.threshold,
        threshold_chosen_on: parts[0].part.clone(),
        threshold_spread: fitted.threshold_spread,
        feature_weight: feature_weight.to_string(),
        features,
        parts,
    };
    let text = markdown(&report);
    print!("{text}");
    if let Some(out) = &json {
        std::fs::write(out.with_extension("md"), &text).with_context(|| format!("writing {}", out.with_extension("md").display()))?;
    }
    curator::bench::write_json(json, &report)?;
    if dry_run {
        eprintln!("--dry-run: {} left as it was", path.display());
    } else {
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn show(curator: Curator, id: &str, json: bool) -> Result<()> {
    let generation = curator.load_served_generation().context("loading the current index")?;
    let Some(stored) = generation.store.get(id.trim()) else {
        bail!("no record {id:?} in the index (ids look like tate:T00990; `curator search` shows them)");
    };
    let chunks: Vec<&str> = stored.chunk_ids.iter().filter_map(|c| generation.store.chunk(*c)).map(|c| c.text.as_str()).collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "record": stored.record, "chunks": chunks }))?);
        return Ok(());
    }
    let record = serde_json::to_value(&stored.record)?;
    if let Some(fields) = record.as_object() {
        for (field, value) in fields {
            let shown = match value {
                serde_json::Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            println!("{field:>12}: {shown}");
        }
    }
    for (i, chunk) in chunks.iter().enumerate() {
        println!("\n--- chunk {} of {}\n{chunk}", i + 1, chunks.len());
    }
    Ok(())
}
