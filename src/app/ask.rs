//! The question-answering pipeline: (rewrite a follow-up) -> retrieve -> abstain or prompt -> generate
//! (streamed, invalid citations filtered) -> check every sentence against its sources.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::Curator;
use crate::evidence::{self, Evidence};
use crate::gate::Gate;
use crate::generate::citations::{self, CitationFilter, SupportChecker, Thresholds};
use crate::generate::prompt::bounded_history;
use crate::generate::{CheckedSentence, Citation, GenerateError, GenerationStats, Message, PromptError, Source, Support, TokenEvent, Turn};
use crate::index::{Filters, Generation, IndexError};
use crate::models::ModelError;
use crate::retrieve::rerank::probability;
use crate::retrieve::{ms, Hit, SearchError, SearchTimings};

pub use crate::config::MAX_SOURCES;

#[derive(Debug, thiserror::Error)]
pub enum AskError {
    #[error("the question is empty")]
    EmptyQuestion,
    #[error("k must be in 1..={MAX_SOURCES} (sources for an answer), got {0}")]
    TooManySources(usize),
    #[error("answering is off: {0}")]
    NoModel(String),
    #[error(transparent)]
    Search(#[from] SearchError),
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error(transparent)]
    Generate(#[from] GenerateError),
    #[error(transparent)]
    Prompt(#[from] PromptError),
    #[error(transparent)]
    Model(#[from] ModelError),
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AskRequest {
    pub question: String,
    /// Earlier turns, oldest first; the last user turn is not repeated here.
    #[serde(default)]
    pub history: Vec<Turn>,
    #[serde(default)]
    pub filters: Filters,
    /// Sources given to the model (default: answer.sources).
    #[serde(default)]
    pub k: Option<usize>,
}

impl AskRequest {
    /// The number of sources to retrieve: `k`, or `default` when it is not given. The server calls this
    /// before answering, because a stream has already answered 200 when `Curator::ask` runs.
    pub fn sources(&self, default: usize) -> Result<usize, AskError> {
        let k = self.k.unwrap_or(default);
        if k == 0 || k > MAX_SOURCES {
            return Err(AskError::TooManySources(k));
        }
        Ok(k)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AskTimings {
    pub rewrite_ms: f64,
    pub retrieval: SearchTimings,
    /// Scoring the top records' sentences and choosing the evidence.
    pub evidence_ms: f64,
    pub prompt_ms: f64,
    pub first_token_ms: Option<f64>,
    pub generation_ms: f64,
    pub verify_ms: f64,
    pub total_ms: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Answer {
    pub question: String,
    /// What retrieval searched for: the question, or its standalone rewrite in a conversation.
    pub retrieval_query: String,
    /// A year range written in the question that retrieval applied as a filter ("between 1600 and 1650").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub years_from_query: Option<(i32, i32)>,
    /// The answer as shown, citations to sources that were not given removed.
    pub answer: String,
    /// True when the answer declines: retrieval found nothing relevant enough (the model was not asked),
    /// or nothing the model wrote states anything (it said the sources do not answer, or said the question
    /// back).
    pub abstained: bool,
    /// Who declined: "gate" (the answer gate, before the model), "relevance" (the threshold, when no gate is
    /// fitted) or "model"; None when answered.
    pub declined_by: Option<String>,
    /// When the answer declines, the records retrieval ranked highest (without evidence), so a reader can
    /// look for themselves.
    pub closest: Vec<ClosestRecord>,
    /// The relevance the abstention threshold was compared with, and what it measures.
    pub relevance: f32,
    pub relevance_signal: String,
    /// One entry per cited source: the best-supported citation of it.
    pub citations: Vec<Citation>,
    pub sentences: Vec<CheckedSentence>,
    pub sources: Vec<Source>,
    pub model: Option<String>,
    pub generation: Option<GenerationStats>,
    pub timings: AskTimings,
}

impl Answer {
    /// Share of the sentences that make a claim which a cited source supports.
    pub fn supported_share(&self) -> Option<f32> {
        let claims = self.sentences.iter().filter(|s| s.support != Support::NoClaim).count();
        let supported = self.sentences.iter().filter(|s| s.support == Support::Supported).count();
        (claims > 0).then(|| supported as f32 / claims as f32)
    }
}

/// A record that came close to answering a declined question.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClosestRecord {
    pub record_id: String,
    pub title: String,
    pub makers: Vec<String>,
    pub date: Option<String>,
    pub score: f32,
}

/// Records shown when an answer declines.
const CLOSEST_SHOWN: usize = 3;

/// What `ask` reports while it works, in order: `Retrieved` (the numbered sources with their evidence, or
/// the decision to decline and the closest records), `Delta`s as the text is written, a `Sentence` as soon
/// as each sentence is complete and checked against its sources; then the finished answer is returned.
#[derive(Debug, Clone)]
pub enum AskEvent<'a> {
    /// `years_from_query`: the year range written in the question that retrieval applied as a filter.
    Retrieved {
        retrieval_query: &'a str,
        years_from_query: Option<(i32, i32)>,
        sources: &'a [Source],
        abstained: bool,
        closest: &'a [ClosestRecord],
    },
    Delta(&'a str),
    /// `end`: the character offset in the streamed text (the `Delta`s so far) up to which the sentences
    /// checked so far reach.
    Sentence { index: usize, sentence: &'a CheckedSentence, end: usize },
}

impl Curator {
    /// Answers `request` over `generation`. `on_event` sees progress as it happens and returns false when
    /// nobody is listening any more (the client went away), which cancels the generation.
    pub fn ask(
        &self,
        generation: &Generation,
        request: &AskRequest,
        on_event: &mut dyn FnMut(AskEvent<'_>) -> bool,
    ) -> Result<Answer, AskError> {
        let started = Instant::now();
        let question = request.question.trim();
        if question.is_empty() {
            return Err(AskError::EmptyQuestion);
        }
        let settings = &self.settings.answer;
        let k = request.sources(settings.sources)?;
        // The model is looked up only where it is needed: an abstention never touches it.
        let llm = || self.llm.as_ref().ok_or_else(|| AskError::NoModel(self.llm_status.clone()));
        let history = if request.history.is_empty() {
            Vec::new()
        } else {
            bounded_history(&request.history, settings.history_budget_tokens, |t| llm().map_or(t.len() / 4, |l| l.count_tokens(t)))
        };
        let mut timings = AskTimings::default();

        let retrieval_query = if history.is_empty() { question.to_string() } else { self.rewrite(question, &history)? };
        timings.rewrite_ms = ms(started);

        // One reranker and the gate fitted for it, from retrieval to the decision, whatever is switched in meanwhile.
        let scoring = self.scoring();
        // The generation's own embedding model, and the gate only when it was fitted on lists made with it.
        let embedder = self.embedder_for(generation);
        let gate = scoring.gate_for(&embedder);
        // The gate judges the number of records it was fitted on, however many the model is given.
        let retrieved = gate.map_or(k, |gate| gate.sources.max(k));
        let search_request = self.answer_request(&retrieval_query, Some(retrieved), request.filters.clone());
        let search = self.search_with(&scoring, generation, &search_request)?;
        timings.retrieval = search.timings.clone();
        // Evidence is chosen before the gate's decision: it reads how well the best units score.
        let evidence_started = Instant::now();
        let count_tokens = |t: &str| self.llm.as_ref().map_or(t.len() / 4, |l| l.count_tokens(t));
        // Without a gate the relevance threshold decides without evidence: a decline then skips scoring it.
        let threshold_declines = gate.is_none() && {
            let (relevance, _, threshold) = self.relevance(&search.hits);
            relevance < threshold
        };
        let evidence = if search.hits.is_empty() || threshold_declines {
            Evidence { sources: Vec::new(), best_scores: Vec::new() }
        } else {
            // Scored against what retrieval searched for: in a conversation, the follow-up spelled out.
            evidence::select(&retrieval_query, generation, &search.hits, self.evidence_budget(k), &scoring.evidence_scorer(&embedder), &count_tokens)?
        };
        timings.evidence_ms = ms(evidence_started);
        let decision = self.decide(gate, &retrieval_query, generation, &search.hits, &evidence.best_scores);
        let abstained = !decision.answer;
        let (sources, closest) = if abstained {
            (Vec::new(), search.hits.iter().take(CLOSEST_SHOWN).map(closest_record).collect())
        } else {
            (evidence.sources, Vec::new())
        };
        let years_from_query = search.years_from_query;
        if !on_event(AskEvent::Retrieved { retrieval_query: &retrieval_query, years_from_query, sources: &sources, abstained, closest: &closest }) {
            return Err(AskError::Generate(GenerateError::WorkerGone));
        }

        let mut answer = Answer {
            question: question.to_string(),
            retrieval_query,
            years_from_query,
            answer: String::new(),
            abstained,
            declined_by: abstained.then(|| decision.declined_by.to_string()),
            closest,
            relevance: decision.relevance,
            relevance_signal: decision.signal,
            citations: Vec::new(),
            sentences: Vec::new(),
            sources,
            model: self.llm.as_ref().map(|l| l.name.clone()),
            generation: None,
            timings,
        };
        if abstained {
            // The model is not asked: it would answer anyway, from memory.
            answer.answer = self.prompts.no_answer(question)?;
            on_event(AskEvent::Delta(&answer.answer));
            answer.timings.total_ms = ms(started);
            return Ok(answer);
        }

        let messages = [
            // With the gate deciding, the prompt offers the model no way out: it was asked because the
            // sources answer.
            Message { role: "system", content: self.prompts.system(gate.is_none())? },
            Message { role: "user", content: self.prompts.question(&answer.sources, &history, question)? },
        ];
        let shape = if settings.constrain_citations {
            Some(self.prompts.answer_shape(answer.sources.len(), settings.max_sentences)?)
        } else {
            None
        };
        let mut events = llm()?.generate_constrained(&messages, None, shape)?;
        let thresholds = Thresholds { lexical: settings.support_lexical, semantic: settings.support_semantic };
        let sources = answer.sources.clone();
        let mut checker = SupportChecker::new(question, &sources, &embedder, thresholds).repairing(settings.repair_citations);
        let mut checked: Vec<CheckedSentence> = Vec::new();
        let mut verify_ms = 0.0;
        let mut filter = CitationFilter::new(answer.sources.len());
        let mut text = String::new();
        let generation_started = Instant::now();
        while let Some(event) = events.blocking_recv() {
            match event {
                TokenEvent::Started { prompt_ms, .. } => answer.timings.prompt_ms = prompt_ms,
                TokenEvent::Piece(piece) => {
                    answer.timings.first_token_ms.get_or_insert_with(|| ms(started));
                    let shown = filter.push(&piece);
                    text.push_str(&shown);
                    if !shown.is_empty() && !on_event(AskEvent::Delta(&shown)) {
                        return Err(AskError::Generate(GenerateError::WorkerGone));
                    }
                    // A sentence is complete once the next one has begun (a citation after its full stop
                    // has been attached by then); check it and say so while the rest is written.
                    let sentences = citations::split_sentences_with_starts(&text);
                    let verify_started = Instant::now();
                    while checked.len() + 1 < sentences.len() {
                        let (sentence, numbers, _) = &sentences[checked.len()];
                        checked.push(checker.check(sentence, numbers)?);
                        let index = checked.len() - 1;
                        let end = sentences[index + 1].2;
                        if !on_event(AskEvent::Sentence { index, sentence: &checked[index], end }) {
                            return Err(AskError::Generate(GenerateError::WorkerGone));
                        }
                    }
                    verify_ms += ms(verify_started);
                }
                TokenEvent::Done(stats) => {
                    answer.generation = Some(stats);
                    break;
                }
                TokenEvent::Failed(e) => return Err(e.into()),
            }
        }
        let rest = filter.finish();
        if !rest.is_empty() {
            on_event(AskEvent::Delta(&rest));
            text.push_str(&rest);
        }
        answer.timings.generation_ms = ms(generation_started);

        let verify_started = Instant::now();
        answer.answer = citations::drop_invalid_citations(&text, answer.sources.len());
        let sentences = citations::split_sentences(&answer.answer);
        checked.truncate(sentences.len());
        let end = text.chars().count();
        for (sentence, numbers) in &sentences[checked.len()..] {
            checked.push(checker.check(sentence, numbers)?);
            let index = checked.len() - 1;
            on_event(AskEvent::Sentence { index, sentence: &checked[index], end });
        }
        answer.answer = citations::with_repaired_markers(&answer.answer, &checked);
        answer.sentences = checked;
        answer.citations = best_citation_per_source(&answer.sentences);
        // An answer none of whose sentences states anything (a refusal, or the question said back: "A group
        // of people stands next to [1].") does not answer: it is a decline by the model. "The painting was
        // much copied [1]." claims nothing a source is needed for, but answers "what was much copied?".
        let says_nothing = |s: &CheckedSentence| s.support == Support::NoClaim && !s.says_more_than_the_question;
        if !answer.sentences.is_empty() && answer.sentences.iter().all(says_nothing) {
            answer.abstained = true;
            answer.declined_by = Some("model".into());
            answer.closest = search.hits.iter().take(CLOSEST_SHOWN).map(closest_record).collect();
        }
        answer.timings.verify_ms = verify_ms + ms(verify_started);
        answer.timings.total_ms = ms(started);
        Ok(answer)
    }

    /// A follow-up rewritten by the model into a query that stands on its own.
    fn rewrite(&self, question: &str, history: &[Turn]) -> Result<String, AskError> {
        let llm = self.llm.as_ref().ok_or_else(|| AskError::NoModel(self.llm_status.clone()))?;
        let messages = [Message { role: "user", content: self.prompts.rewrite(history, question)? }];
        let mut events = llm.generate(&messages, Some(48))?;
        let mut text = String::new();
        while let Some(event) = events.blocking_recv() {
            match event {
                TokenEvent::Piece(piece) => text.push_str(&piece),
                TokenEvent::Failed(e) => return Err(e.into()),
                TokenEvent::Done(_) => break,
                TokenEvent::Started { .. } => {}
            }
        }
        let rewritten = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("").trim_matches('"').to_string();
        // A model that returns nothing useful leaves the follow-up with its context spelled out.
        Ok(if rewritten.is_empty() {
            let last_user = history.iter().rev().find(|t| t.role == "user").map_or("", |t| t.content.as_str());
            format!("{last_user} {question}")
        } else {
            rewritten
        })
    }

    /// Whether to answer from `hits`: the answer gate's decision when one is fitted for this scorer, else
    /// the relevance threshold's.
    pub fn decide(&self, gate: Option<&Gate>, question: &str, generation: &Generation, hits: &[Hit], evidence_best: &[f32]) -> Decision {
        if hits.is_empty() {
            return Decision { answer: false, relevance: 0.0, signal: "no record matched".into(), declined_by: "relevance" };
        }
        if let Some(gate) = gate {
            let probability = gate.judge(question, generation, hits, evidence_best);
            return Decision {
                answer: probability >= gate.threshold,
                relevance: probability,
                signal: "answer gate probability".into(),
                declined_by: "gate",
            };
        }
        let (relevance, signal, threshold) = self.relevance(hits);
        Decision { answer: relevance >= threshold, relevance, signal, declined_by: "relevance" }
    }

    /// How relevant the best retrieved record is, with the threshold that applies to that signal: the
    /// reranker's probability when reranking ran and `abstain_below` is set, else the best dense cosine.
    /// `abstain_below` is 0 by default: the trained reranker rates questions that name a title far too
    /// low (README "Answers"), so its probability would decline them.
    pub fn relevance(&self, hits: &[Hit]) -> (f32, String, f32) {
        let settings = &self.settings.answer;
        let best_rerank = hits.iter().filter_map(|h| h.stages.rerank).map(|s| s.score).reduce(f32::max);
        if let Some(score) = best_rerank.filter(|_| settings.abstain_below > 0.0) {
            (probability(score), "reranker probability".into(), settings.abstain_below)
        } else {
            let cosine = hits.iter().filter_map(|h| h.stages.dense).map(|s| s.score).reduce(f32::max).unwrap_or(0.0);
            (cosine, "dense cosine similarity".into(), settings.abstain_below_dense)
        }
    }
}

/// Whether to answer, and the number it was decided on.
#[derive(Debug, Clone)]
pub struct Decision {
    pub answer: bool,
    pub relevance: f32,
    /// What `relevance` measures.
    pub signal: String,
    /// Who declines when `answer` is false: "gate" or "relevance" (the threshold).
    pub declined_by: &'static str,
}

fn closest_record(hit: &Hit) -> ClosestRecord {
    ClosestRecord { record_id: hit.record_id.clone(), title: hit.title.clone(), makers: hit.makers.clone(), date: hit.date.clone(), score: hit.score }
}

fn best_citation_per_source(sentences: &[CheckedSentence]) -> Vec<Citation> {
    let mut best: Vec<Citation> = Vec::new();
    for citation in sentences.iter().flat_map(|s| &s.citations) {
        match best.iter_mut().find(|c| c.number == citation.number) {
            Some(existing) if citations::strength(citation) > citations::strength(existing) => *existing = citation.clone(),
            Some(_) => {}
            None => best.push(citation.clone()),
        }
    }
    best.sort_by_key(|c| c.number);
    best
}
