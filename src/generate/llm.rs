//! The language model, owned by one worker thread.
//!
//! llama.cpp is loaded once. Requests wait in a bounded queue (a full queue is refused at once, never
//! blocks the caller), and the worker answers them one at a time, streaming each piece of text the moment
//! it is sampled. The worker keeps the tokens its KV cache holds and reuses their longest common prefix
//! with the next prompt: the fixed instructions at the head of every prompt (and a conversation's earlier
//! turns) are evaluated once, so a question pays only for its own sources and words.
//!
//! A request ends early when its receiver is dropped (the client went away), which frees the worker for
//! the next one, or when its deadline passes.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::data::LlamaTokenData;
use llama_cpp_2::token::data_array::LlamaTokenDataArray;
use llama_cpp_2::token::LlamaToken;
use serde::Serialize;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use crate::config::GenerationSettings;

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("language model {0} not found; run scripts/fetch-models.sh llm (or set generation.model)")]
    ModelMissing(PathBuf),
    #[error("cannot load language model {path}: {reason}")]
    Load { path: PathBuf, reason: String },
    #[error("the model's chat template failed: {0}")]
    Template(String),
    #[error("the prompt needs {needed} tokens but the context holds {context} (shorten the question or lower answer.evidence_budget_tokens)")]
    PromptTooLong { needed: usize, context: usize },
    #[error("the answer queue is full ({0} waiting); try again shortly")]
    QueueFull(usize),
    #[error("generation passed its deadline of {0} s (generation.deadline_seconds)")]
    Deadline(f64),
    #[error("the generation worker has stopped")]
    WorkerGone,
    #[error("llama.cpp failed: {0}")]
    Llama(String),
    #[error("the answer grammar does not parse: {0}")]
    Grammar(String),
}

/// What a generation reports, in order: `Started` once the prompt is evaluated, `Piece`s, then `Done` or
/// `Failed`.
#[derive(Debug)]
pub enum TokenEvent {
    Started { prompt_tokens: usize, reused_tokens: usize, prompt_ms: f64 },
    Piece(String),
    Done(GenerationStats),
    Failed(GenerateError),
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct GenerationStats {
    pub prompt_tokens: usize,
    /// Prompt tokens whose KV state was reused from the previous request.
    pub reused_tokens: usize,
    pub generated_tokens: usize,
    pub prompt_ms: f64,
    pub generation_ms: f64,
    pub tokens_per_second: f64,
    /// The answer reached max_answer_tokens rather than the model's end of turn.
    pub truncated: bool,
    /// Times the model's choice would have ended a sentence on an unfinished word ("... is [1].") and
    /// the next best token was taken instead ([`AnswerShape::unfinished_endings`]).
    #[serde(default)]
    pub unfinished_endings_refused: usize,
}

/// A chat message for the model's own chat template.
#[derive(Debug, Clone)]
pub struct Message {
    pub role: &'static str,
    pub content: String,
}

/// The shape an answer is kept to while it is decoded.
#[derive(Debug, Clone, Default)]
pub struct AnswerShape {
    /// A GBNF grammar every answer must match (root rule `root`).
    pub grammar: String,
    /// Words no sentence may end on (lower case): "The date of 89/10/80/D is [1]." says the question back
    /// and nothing else. When the model's choice would end a sentence (a full stop, or a citation's
    /// bracket) right after one of these, the best token the grammar allows that does not is taken.
    pub unfinished_endings: Vec<String>,
}

struct Job {
    prompt: Vec<LlamaToken>,
    shape: Option<AnswerShape>,
    max_tokens: usize,
    deadline: Instant,
    deadline_seconds: f64,
    events: UnboundedSender<TokenEvent>,
}

/// Handle to the worker; cheap to share behind an `Arc`.
pub struct Llm {
    model: Arc<LlamaModel>,
    template: LlamaChatTemplate,
    jobs: SyncSender<Job>,
    waiting: Arc<AtomicUsize>,
    settings: GenerationSettings,
    context_tokens: usize,
    pub name: String,
}

fn backend() -> Result<&'static LlamaBackend, GenerateError> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            let mut backend = LlamaBackend::init().map_err(|e| e.to_string())?;
            backend.void_logs();
            Ok(backend)
        })
        .as_ref()
        .map_err(|e| GenerateError::Llama(e.clone()))
}

impl Llm {
    /// Loads the model and starts its worker thread.
    pub fn load(path: &Path, settings: &GenerationSettings) -> Result<Llm, GenerateError> {
        if !path.is_file() {
            return Err(GenerateError::ModelMissing(path.to_path_buf()));
        }
        let backend = backend()?;
        let model = LlamaModel::load_from_file(backend, path, &LlamaModelParams::default())
            .map_err(|e| GenerateError::Load { path: path.to_path_buf(), reason: e.to_string() })?;
        let model = Arc::new(model);
        // A GGUF without a template gets ChatML, the format most small instruction models use.
        let template = match model.chat_template(None) {
            Ok(t) => t,
            Err(_) => LlamaChatTemplate::new("chatml").map_err(|e| GenerateError::Template(e.to_string()))?,
        };
        let threads = crate::threads_or_all_cores(settings.threads) as i32;
        let context_tokens = settings.context_tokens.min(model.n_ctx_train().max(512));
        let (jobs, queue) = sync_channel::<Job>(settings.queue_depth);
        let waiting = Arc::new(AtomicUsize::new(0));
        let worker = Worker {
            model: Arc::clone(&model),
            threads,
            context_tokens,
            flash_attention: settings.flash_attention,
            temperature: settings.temperature,
            seed: settings.seed,
            repeat_penalty: settings.repeat_penalty,
            waiting: Arc::clone(&waiting),
            sentence_ends: sentence_ending_tokens(&model),
        };
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("curator-llm".into())
            .spawn(move || worker.run(queue, ready_tx))
            .map_err(|e| GenerateError::Llama(e.to_string()))?;
        ready_rx.recv().map_err(|_| GenerateError::WorkerGone)??;
        let name = path.file_stem().map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned());
        Ok(Llm { model, template, jobs, waiting, settings: settings.clone(), context_tokens: context_tokens as usize, name })
    }

    /// Whether llama.cpp's grammar engine lets this model write `text` as a whole answer under `grammar`
    /// (each of its tokens allowed in turn, then the end of the turn). For checking a grammar against the
    /// answers it must allow and refuse; no decoding happens.
    pub fn grammar_accepts(&self, grammar: &str, text: &str) -> Result<bool, GenerateError> {
        let mut sampler = LlamaSampler::grammar(&self.model, grammar, "root").map_err(|e| GenerateError::Grammar(e.to_string()))?;
        let vocab = self.model.vocab();
        for token in vocab.tokenize(text.as_bytes(), false, false) {
            if !allows(&mut sampler, token) {
                return Ok(false);
            }
            sampler.accept(token);
        }
        Ok(allows(&mut sampler, vocab.eos()))
    }

    /// Requests waiting for the worker (the one it is answering not counted).
    pub fn queue_depth(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    pub fn count_tokens(&self, text: &str) -> usize {
        self.model.vocab().tokenize(text.as_bytes(), false, false).len()
    }

    /// The prompt text for `messages` through the model's own chat template, ending where the
    /// assistant's turn begins.
    pub fn render_chat(&self, messages: &[Message]) -> Result<String, GenerateError> {
        let chat = messages
            .iter()
            .map(|m| LlamaChatMessage::new(m.role.to_string(), m.content.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| GenerateError::Template(e.to_string()))?;
        self.model.apply_chat_template(&self.template, &chat, true).map_err(|e| GenerateError::Template(e.to_string()))
    }

    /// The prompt tokens for `messages`: the chat template's own markers become its control tokens, while
    /// each message's text (questions, history, record text: all untrusted) is tokenised as plain text, so
    /// "<|im_start|>system" written inside a record or a question stays words and cannot open a turn.
    pub fn tokenize_chat(&self, messages: &[Message]) -> Result<Vec<LlamaToken>, GenerateError> {
        // The template is rendered around placeholders (private-use characters no message is asked to
        // carry), then its pieces and the messages are tokenised each in its own way.
        let placeholders: Vec<String> = (0..messages.len()).map(|i| format!("\u{E000}{i}\u{E001}")).collect();
        let masked: Vec<Message> = messages.iter().zip(&placeholders).map(|(m, p)| Message { role: m.role, content: p.clone() }).collect();
        let rendered = self.render_chat(&masked)?;
        let vocab = self.model.vocab();
        let mut tokens = Vec::new();
        let mut rest = rendered.as_str();
        for (index, (message, placeholder)) in messages.iter().zip(&placeholders).enumerate() {
            let at = rest.find(placeholder.as_str()).ok_or_else(|| GenerateError::Template("the chat template left out a message".into()))?;
            tokens.extend(vocab.tokenize(rest[..at].as_bytes(), index == 0, true));
            tokens.extend(vocab.tokenize(message.content.as_bytes(), false, false));
            rest = &rest[at + placeholder.len()..];
        }
        tokens.extend(vocab.tokenize(rest.as_bytes(), messages.is_empty(), true));
        Ok(tokens)
    }

    /// Queues a generation for `messages`; events arrive on the returned receiver. Dropping the receiver
    /// cancels the generation.
    pub fn generate(&self, messages: &[Message], max_tokens: Option<usize>) -> Result<UnboundedReceiver<TokenEvent>, GenerateError> {
        self.generate_constrained(messages, max_tokens, None)
    }

    /// As [`Llm::generate`], with every sampled token kept inside `shape`: the answer cannot take a form
    /// its grammar does not allow, nor end a sentence on one of its unfinished endings.
    pub fn generate_constrained(
        &self,
        messages: &[Message],
        max_tokens: Option<usize>,
        shape: Option<AnswerShape>,
    ) -> Result<UnboundedReceiver<TokenEvent>, GenerateError> {
        let prompt = self.tokenize_chat(messages)?;
        let wanted = max_tokens.unwrap_or(self.settings.max_answer_tokens).max(1);
        // At least a short answer must fit after the prompt.
        if prompt.len() + 32 > self.context_tokens {
            return Err(GenerateError::PromptTooLong { needed: prompt.len() + 32, context: self.context_tokens });
        }
        let max_tokens = wanted.min(self.context_tokens - prompt.len());
        let (events, receiver) = unbounded_channel();
        let deadline_seconds = self.settings.deadline_seconds;
        let job = Job { prompt, shape, max_tokens, deadline: Instant::now() + Duration::from_secs_f64(deadline_seconds), deadline_seconds, events };
        self.waiting.fetch_add(1, Ordering::Relaxed);
        match self.jobs.try_send(job) {
            Ok(()) => Ok(receiver),
            Err(e) => {
                self.waiting.fetch_sub(1, Ordering::Relaxed);
                Err(match e {
                    TrySendError::Full(_) => GenerateError::QueueFull(self.settings.queue_depth),
                    TrySendError::Disconnected(_) => GenerateError::WorkerGone,
                })
            }
        }
    }
}

struct Worker {
    model: Arc<LlamaModel>,
    threads: i32,
    context_tokens: u32,
    flash_attention: bool,
    temperature: f32,
    seed: u32,
    repeat_penalty: f32,
    waiting: Arc<AtomicUsize>,
    /// Per token id, whether its piece holds a full stop or a bracket, i.e. may end a sentence: only such
    /// tokens are checked for an unfinished ending, so the check costs nothing at most steps.
    sentence_ends: Vec<bool>,
}

/// Tokens the repetition penalty looks back over.
const PENALTY_WINDOW: usize = 64;

const BATCH_TOKENS: usize = 512;

impl Worker {
    fn run(self, queue: Receiver<Job>, ready: std::sync::mpsc::Sender<Result<(), GenerateError>>) {
        let backend = match backend() {
            Ok(b) => b,
            Err(e) => return drop(ready.send(Err(e))),
        };
        let flash = if self.flash_attention {
            llama_cpp_sys_2::LLAMA_FLASH_ATTN_TYPE_ENABLED
        } else {
            llama_cpp_sys_2::LLAMA_FLASH_ATTN_TYPE_DISABLED
        };
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(self.context_tokens))
            .with_n_batch(BATCH_TOKENS as u32)
            .with_n_threads(self.threads)
            .with_n_threads_batch(self.threads)
            .with_flash_attention_policy(flash);
        let mut ctx = match self.model.new_context(backend, params) {
            Ok(ctx) => ctx,
            Err(e) => return drop(ready.send(Err(GenerateError::Llama(format!("cannot create a context: {e}"))))),
        };
        let _ = ready.send(Ok(()));
        // The tokens whose KV state the context holds, in sequence 0.
        let mut cached: Vec<LlamaToken> = Vec::new();
        while let Ok(job) = queue.recv() {
            self.waiting.fetch_sub(1, Ordering::Relaxed);
            if job.events.is_closed() {
                continue;
            }
            // A job that waited in the queue past its deadline is not evaluated, and leaves the cache (the
            // fixed instructions' state) for the next one.
            if Instant::now() > job.deadline {
                let _ = job.events.send(TokenEvent::Failed(GenerateError::Deadline(job.deadline_seconds)));
                continue;
            }
            let events = job.events.clone();
            match self.answer(&mut ctx, &mut cached, job) {
                Ok(stats) => drop(events.send(TokenEvent::Done(stats))),
                // The prompt's deadline is checked between whole blocks, whose tokens `cached` holds
                // exactly: the cache stays valid.
                Err(e @ GenerateError::Deadline(_)) => drop(events.send(TokenEvent::Failed(e))),
                Err(e) => {
                    // The cache may be half-written: start the next prompt from scratch.
                    ctx.clear_kv_cache();
                    cached.clear();
                    let _ = events.send(TokenEvent::Failed(e));
                }
            }
        }
    }

    fn answer(&self, ctx: &mut LlamaContext<'_>, cached: &mut Vec<LlamaToken>, job: Job) -> Result<GenerationStats, GenerateError> {
        let llama = |e: &dyn std::fmt::Display| GenerateError::Llama(e.to_string());
        let started = Instant::now();
        // At least the last prompt token is evaluated again: its logits choose the first answer token.
        let reused = common_prefix(cached, &job.prompt).min(job.prompt.len() - 1);
        ctx.clear_kv_cache_seq(Some(0), Some(reused as u32), None).map_err(|e| llama(&e))?;
        cached.truncate(reused);
        let mut batch = LlamaBatch::new(BATCH_TOKENS, 1);
        for (block_index, block) in job.prompt[reused..].chunks(BATCH_TOKENS).enumerate() {
            if job.events.is_closed() {
                return Ok(GenerationStats::default());
            }
            // A long prompt is the slow part on a CPU: the deadline holds while it is evaluated too.
            if Instant::now() > job.deadline {
                return Err(GenerateError::Deadline(job.deadline_seconds));
            }
            batch.clear();
            let start = reused + block_index * BATCH_TOKENS;
            for (i, &token) in block.iter().enumerate() {
                let position = start + i;
                batch.add(token, position as i32, &[0], position + 1 == job.prompt.len()).map_err(|e| llama(&e))?;
            }
            ctx.decode(&mut batch).map_err(|e| llama(&e))?;
            cached.extend_from_slice(block);
        }
        let prompt_ms = started.elapsed().as_secs_f64() * 1000.0;
        if Instant::now() > job.deadline {
            return Err(GenerateError::Deadline(job.deadline_seconds));
        }
        let _ = job.events.send(TokenEvent::Started { prompt_tokens: job.prompt.len(), reused_tokens: reused, prompt_ms });

        let mut chooser = if self.temperature <= 0.0 {
            Chooser::Greedy(Greedy::new(self.repeat_penalty))
        } else {
            let penalties = LlamaSampler::penalties(self.model.n_vocab(), PENALTY_WINDOW as i32, self.repeat_penalty, 0.0, 0.0);
            Chooser::Sampled(LlamaSampler::chain_simple([penalties, LlamaSampler::temp(self.temperature), LlamaSampler::dist(self.seed)]))
        };
        let mut grammar = match &job.shape {
            Some(shape) => Some(LlamaSampler::grammar(&self.model, &shape.grammar, "root").map_err(|e| GenerateError::Grammar(e.to_string()))?),
            None => None,
        };
        let unfinished_endings = job.shape.as_ref().map_or(&[][..], |s| s.unfinished_endings.as_slice());
        let vocab = self.model.vocab();
        let mut text = Utf8Pieces::default();
        // What has been written so far, for the unfinished-ending check.
        let mut written = String::new();
        let mut refused = 0;
        let mut logits_at = batch.n_tokens() - 1;
        let mut generated = 0;
        let mut truncated = true;
        let generation_started = Instant::now();
        while generated < job.max_tokens {
            let ends_unfinished = |token: LlamaToken| {
                !unfinished_endings.is_empty()
                    && self.sentence_ends.get(token.0 as usize).copied().unwrap_or(false)
                    && ends_on_unfinished_word(&written, &String::from_utf8_lossy(&vocab.token_to_piece(token, false, None)), unfinished_endings)
            };
            let (token, was_refused) = chooser.next(ctx, logits_at, grammar.as_mut(), &ends_unfinished).ok_or_else(|| GenerateError::Llama("the grammar allows no token".into()))?;
            refused += usize::from(was_refused);
            if vocab.is_eog(token) {
                truncated = false;
                break;
            }
            generated += 1;
            if let Some(piece) = text.push(&vocab.token_to_piece(token, false, None)) {
                written.push_str(&piece);
                if job.events.send(TokenEvent::Piece(piece)).is_err() {
                    break; // the client went away
                }
            }
            if Instant::now() > job.deadline {
                return Err(GenerateError::Deadline(job.deadline_seconds));
            }
            batch.clear();
            batch.add(token, cached.len() as i32, &[0], true).map_err(|e| llama(&e))?;
            ctx.decode(&mut batch).map_err(|e| llama(&e))?;
            cached.push(token);
            logits_at = 0;
        }
        if let Some(rest) = text.finish() {
            let _ = job.events.send(TokenEvent::Piece(rest));
        }
        let generation_ms = generation_started.elapsed().as_secs_f64() * 1000.0;
        Ok(GenerationStats {
            prompt_tokens: job.prompt.len(),
            reused_tokens: reused,
            generated_tokens: generated,
            prompt_ms,
            generation_ms,
            tokens_per_second: if generation_ms > 0.0 { generated as f64 * 1000.0 / generation_ms } else { 0.0 },
            truncated,
            unfinished_endings_refused: refused,
        })
    }
}

/// How the next token is chosen: greedily (temperature 0, the default) or sampled by llama.cpp's chain.
enum Chooser {
    Greedy(Greedy),
    Sampled(LlamaSampler),
}

impl Chooser {
    /// The next token from the logits at `logits_at`, kept inside `grammar` when there is one, and
    /// whether the first choice was refused for ending a sentence on an unfinished word
    /// (`ends_unfinished`, checked only with a grammar). Checking the grammar against the whole
    /// vocabulary (150k tokens) at every step is what makes constrained decoding slow, so the token
    /// chosen freely is checked alone first, and the vocabulary is filtered only when the grammar (or the
    /// ending check) rejects it (llama.cpp's own "grammar first" shortcut).
    fn next(
        &mut self,
        ctx: &LlamaContext<'_>,
        logits_at: i32,
        mut grammar: Option<&mut LlamaSampler>,
        ends_unfinished: &dyn Fn(LlamaToken) -> bool,
    ) -> Option<(LlamaToken, bool)> {
        let free = match self {
            Chooser::Greedy(greedy) => greedy.choose(ctx.get_logits_ith(logits_at).iter().copied().enumerate()),
            Chooser::Sampled(sampler) => {
                let mut candidates = ctx.token_data_array_ith(logits_at);
                candidates.apply_sampler(sampler);
                candidates.selected_token()
            }
        }?;
        let (token, refused) = match grammar.as_deref_mut() {
            Some(grammar) => {
                let chosen = if allows(grammar, free) { free } else { self.choose_within(ctx, logits_at, grammar, &|_| false)? };
                if ends_unfinished(chosen) {
                    (self.choose_within(ctx, logits_at, grammar, ends_unfinished)?, true)
                } else {
                    (chosen, false)
                }
            }
            None => (free, false),
        };
        if let Some(grammar) = grammar {
            grammar.accept(token);
        }
        match self {
            Chooser::Greedy(greedy) => greedy.accept(token),
            Chooser::Sampled(sampler) => sampler.accept(token),
        }
        Some((token, refused))
    }

    /// The choice among the tokens `grammar` allows next, leaving out those `excluded` says, unless that
    /// leaves none.
    fn choose_within(&mut self, ctx: &LlamaContext<'_>, logits_at: i32, grammar: &mut LlamaSampler, excluded: &dyn Fn(LlamaToken) -> bool) -> Option<LlamaToken> {
        let mut allowed = ctx.token_data_array_ith(logits_at);
        allowed.apply_sampler(grammar);
        allowed.data.retain(|t| t.logit().is_finite());
        if allowed.data.iter().any(|t| !excluded(t.id())) {
            allowed.data.retain(|t| !excluded(t.id()));
        }
        match self {
            Chooser::Greedy(greedy) => greedy.choose(allowed.data.iter().map(|t| (t.id().0 as usize, t.logit()))),
            Chooser::Sampled(_) if allowed.data.is_empty() => None,
            Chooser::Sampled(sampler) => {
                allowed.apply_sampler(sampler);
                allowed.selected_token()
            }
        }
    }
}

/// Per token id of `model`, whether its piece holds a full stop or an opening bracket.
fn sentence_ending_tokens(model: &LlamaModel) -> Vec<bool> {
    let vocab = model.vocab();
    let mut piece = Vec::new();
    (0..model.n_vocab())
        .map(|id| {
            piece.clear();
            vocab.token_to_piece_into(LlamaToken::new(id), &mut piece, false, None);
            piece.iter().any(|&b| b == b'.' || b == b'[')
        })
        .collect()
}

/// Whether `piece`, written after `written`, ends a sentence (a full stop, or a citation's opening
/// bracket) right after one of `words`: "The date of 89/10/80/D is" followed by " [1]." states nothing.
/// Only the text before the piece's first full stop or bracket counts, so "c.1650" and "1.5" end nothing.
pub fn ends_on_unfinished_word(written: &str, piece: &str, words: &[String]) -> bool {
    let Some(at) = piece.find(['.', '[']) else { return false };
    // The last word may span the pieces: "i" + "s." ends on "is".
    let tail = written.char_indices().rev().nth(31).map_or(written, |(i, _)| &written[i..]);
    let before = format!("{tail}{}", &piece[..at]);
    let last = before.trim_end().rsplit(|c: char| !c.is_alphanumeric()).next().unwrap_or("");
    !last.is_empty() && words.iter().any(|w| w.eq_ignore_ascii_case(last))
}

/// Whether `grammar` lets `token` come next.
fn allows(grammar: &mut LlamaSampler, token: LlamaToken) -> bool {
    let mut alone = LlamaTokenDataArray::new(vec![LlamaTokenData::new(token, 0.0, 0.0)], false);
    alone.apply_sampler(grammar);
    alone.data.first().is_some_and(|t| t.logit().is_finite())
}

/// The most likely token after llama.cpp's repetition penalty (a logit of a token among the last
/// `PENALTY_WINDOW` chosen is divided by the penalty, or multiplied when negative), found in one pass over
/// the logits. llama.cpp's sampler chain does the same by copying every logit into a candidate array and
/// looking each one up in its penalty map, for every token (README "Generation speed": the saving is
/// below what this machine's run-to-run noise lets `bench answer` show).
struct Greedy {
    penalty: f32,
    recent: std::collections::VecDeque<LlamaToken>,
}

impl Greedy {
    fn new(penalty: f32) -> Self {
        Greedy { penalty, recent: std::collections::VecDeque::with_capacity(PENALTY_WINDOW) }
    }

    /// The best of `(token id, logit)` pairs after the penalty; the first of equals, as llama.cpp's greedy.
    fn choose(&self, logits: impl Iterator<Item = (usize, f32)>) -> Option<LlamaToken> {
        let mut recent: Vec<usize> = self.recent.iter().map(|t| t.0 as usize).collect();
        recent.sort_unstable();
        recent.dedup();
        let penalised = |id: usize, logit: f32| {
            if self.penalty == 1.0 || recent.binary_search(&id).is_err() {
                logit
            } else if logit <= 0.0 {
                logit * self.penalty
            } else {
                logit / self.penalty
            }
        };
        let mut best: Option<(usize, f32)> = None;
        for (id, logit) in logits {
            // The penalty only lowers a logit: a token not above the best as it is cannot win.
            if best.is_some_and(|(_, b)| logit <= b) {
                continue;
            }
            let value = penalised(id, logit);
            if best.is_none_or(|(_, b)| value > b) {
                best = Some((id, value));
            }
        }
        best.and_then(|(id, _)| i32::try_from(id).ok()).map(LlamaToken::new)
    }

    fn accept(&mut self, token: LlamaToken) {
        if self.recent.len() == PENALTY_WINDOW {
            self.recent.pop_front();
        }
        self.recent.push_back(token);
    }
}

fn common_prefix(a: &[LlamaToken], b: &[LlamaToken]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Token pieces are bytes; one character may span two tokens. Emits only whole UTF-8 text.
#[derive(Default)]
struct Utf8Pieces {
    pending: Vec<u8>,
}

impl Utf8Pieces {
    fn push(&mut self, bytes: &[u8]) -> Option<String> {
        self.pending.extend_from_slice(bytes);
        let valid = match std::str::from_utf8(&self.pending) {
            Ok(_) => self.pending.len(),
            // An incomplete character at the end waits for the next token; invalid bytes are replaced.
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => self.pending.len(),
        };
        if valid == 0 {
            return None;
        }
        let rest = self.pending.split_off(valid);
        let piece = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending = rest;
        Some(piece)
    }

    fn finish(&mut self) -> Option<String> {
        (!self.pending.is_empty()).then(|| String::from_utf8_lossy(&std::mem::take(&mut self.pending)).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_choice_penalises_recent_tokens_as_llama_cpp_does() {
        let mut greedy = Greedy::new(2.0);
        let logits = [1.0, 3.0, 2.0, -0.5];
        let pairs = || logits.iter().copied().enumerate();
        assert_eq!(greedy.choose(pairs()), Some(LlamaToken::new(1)));
        greedy.accept(LlamaToken::new(1));
        // 3.0 / 2 = 1.5 is now below token 2's 2.0.
        assert_eq!(greedy.choose(pairs()), Some(LlamaToken::new(2)));
        greedy.accept(LlamaToken::new(2));
        // Now 1.5 against 2.0 / 2 = 1.0.
        assert_eq!(greedy.choose(pairs()), Some(LlamaToken::new(1)));
        // A penalised token that ties an unpenalised one: the first of equals wins, as in llama.cpp.
        assert_eq!(greedy.choose([(0, 1.0), (2, 2.0)].into_iter()), Some(LlamaToken::new(0)));
        assert_eq!(greedy.choose([(2, 2.0), (0, 1.0)].into_iter()), Some(LlamaToken::new(2)));
        for _ in 0..PENALTY_WINDOW {
            greedy.accept(LlamaToken::new(3));
        }
        assert_eq!(greedy.choose(pairs()), Some(LlamaToken::new(1)), "tokens older than the window are not penalised");
        assert_eq!(greedy.choose(std::iter::empty()), None);
    }

    #[test]
    fn greedy_choice_picks_what_llama_cpp_penalties_and_greedy_chain_picks() {
        // Logits where a few tokens are always near the top, so the penalty decides often.
        let vocab = 2000;
        let mut state: u64 = 7;
        let mut random = move || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 33) as f32) / (u32::MAX >> 1) as f32
        };
        let mut chain = LlamaSampler::chain_simple([LlamaSampler::penalties(vocab, PENALTY_WINDOW as i32, 1.1, 0.0, 0.0), LlamaSampler::greedy()]);
        let mut greedy = Greedy::new(1.1);
        for step in 0..300 {
            let logits: Vec<f32> = (0..vocab).map(|id| if id % 97 == 0 { 8.0 + random() } else { 10.0 * random() - 5.0 }).collect();
            let mut candidates = LlamaTokenDataArray::from_iter(logits.iter().enumerate().map(|(id, &l)| LlamaTokenData::new(LlamaToken::new(id as i32), l, 0.0)), false);
            candidates.apply_sampler(&mut chain);
            let expected = candidates.selected_token();
            assert_eq!(greedy.choose(logits.iter().copied().enumerate()), expected, "step {step}");
            let token = expected.expect("a token");
            chain.accept(token);
            greedy.accept(token);
        }
    }

    #[test]
    fn a_sentence_may_not_end_on_an_unfinished_word() {
        let words: Vec<String> = ["is", "of", "the"].map(String::from).to_vec();
        let ends = |written: &str, piece: &str| ends_on_unfinished_word(written, piece, &words);
        assert!(ends("The date of 89/10/80/D is", " ["), "the regression: a citation right after \"is\"");
        assert!(ends("The date of 89/10/80/D is", "."));
        assert!(ends("The date of 89/10/80/D i", "s ["), "the word spans two pieces");
        assert!(ends("It is made OF ", "["), "any case, spaces before the bracket");
        assert!(!ends("The date of 89/10/80/D is", " 1989"), "no full stop or bracket: nothing ends");
        assert!(!ends("It was painted c", ".1650"), "a full stop inside a date ends nothing here");
        assert!(!ends("It was painted in 1650", " ["));
        assert!(!ends("This", " ["), "\"this\" is not \"is\"");
        assert!(!ends("", "["));
    }

    #[test]
    fn a_character_split_across_tokens_is_emitted_whole() {
        let mut pieces = Utf8Pieces::default();
        let e_acute = "é".as_bytes();
        assert_eq!(pieces.push(&e_acute[..1]), None);
        assert_eq!(pieces.push(&[e_acute[1], b'!']).as_deref(), Some("é!"));
        assert_eq!(pieces.finish(), None);
    }
}
