//! Prompt templates (prompts/*.j2, minijinja) and the numbered sources they are filled with.
//!
//! The repository's prompts/ folder is compiled in; `paths.prompt_dir` points at another folder of the
//! same files. Templates are parsed once at start-up, so a broken template stops start-up, not a request.

use std::path::Path;

use minijinja::Environment;
use serde::Serialize;

use super::llm::AnswerShape;

const BUILT_IN: [(&str, &str); 5] = [
    ("answer.gbnf.j2", include_str!("../../prompts/answer.gbnf.j2")),
    ("system.j2", include_str!("../../prompts/system.j2")),
    ("question.j2", include_str!("../../prompts/question.j2")),
    ("rewrite.j2", include_str!("../../prompts/rewrite.j2")),
    ("no_answer.j2", include_str!("../../prompts/no_answer.j2")),
];

/// Words no sentence of an answer may end on ([`AnswerShape::unfinished_endings`]), one per line.
const UNFINISHED_ENDINGS: (&str, &str) = ("unfinished-endings.txt", include_str!("../../prompts/unfinished-endings.txt"));

#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("cannot read prompt file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("prompt template {name}: {source}")]
    Template { name: String, source: minijinja::Error },
}

/// One record as the model sees it: numbered from 1 in the order retrieval ranked them.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Source {
    pub number: usize,
    pub record_id: String,
    pub title: String,
    pub makers: Vec<String>,
    pub date: Option<String>,
    pub url: Option<String>,
    /// The record's text given to the model (and checked against its citations).
    pub text: String,
    /// How relevant retrieval judged the record (the final stage's score).
    pub score: f32,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Turn {
    /// "user" or "assistant".
    pub role: String,
    pub content: String,
}

impl Source {
    /// The heading line the model reads above the record's text, as prompts/question.j2 writes it.
    pub fn heading(&self) -> String {
        let mut heading = self.title.clone();
        if !self.makers.is_empty() {
            heading.push_str(&format!(" by {}", self.makers.join("; ")));
        }
        if let Some(date) = &self.date {
            heading.push_str(&format!(" ({date})"));
        }
        heading.push_str(&format!(", record {}", self.record_id));
        heading
    }

    /// Everything the model was shown about this record: the heading line and the text. Citations are
    /// checked against this.
    pub fn shown_text(&self) -> String {
        format!("{}\n{}", self.heading(), self.text)
    }
}

pub struct Prompts {
    env: Environment<'static>,
    unfinished_endings: Vec<String>,
}

impl Prompts {
    pub fn load(dir: Option<&Path>) -> Result<Prompts, PromptError> {
        let read = |name: &str, built_in: &str| match dir {
            Some(dir) => {
                let path = dir.join(name);
                std::fs::read_to_string(&path).map_err(|source| PromptError::Read { path: path.display().to_string(), source })
            }
            None => Ok(built_in.to_string()),
        };
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        for (name, built_in) in BUILT_IN {
            env.add_template_owned(name.to_string(), read(name, built_in)?)
                .map_err(|source| PromptError::Template { name: name.to_string(), source })?;
        }
        let unfinished_endings = read(UNFINISHED_ENDINGS.0, UNFINISHED_ENDINGS.1)?
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_lowercase)
            .collect();
        Ok(Prompts { env, unfinished_endings })
    }

    fn render(&self, name: &str, context: minijinja::Value) -> Result<String, PromptError> {
        let template = self.env.get_template(name).map_err(|source| PromptError::Template { name: name.to_string(), source })?;
        let text = template.render(context).map_err(|source| PromptError::Template { name: name.to_string(), source })?;
        Ok(text.trim().to_string())
    }

    /// The fixed instructions. `may_decline`: whether the model may reply that the sources do not answer
    /// (only when no answer gate has already decided that they do).
    pub fn system(&self, may_decline: bool) -> Result<String, PromptError> {
        self.render("system.j2", minijinja::context! { may_decline })
    }

    pub fn question(&self, sources: &[Source], history: &[Turn], question: &str) -> Result<String, PromptError> {
        self.render("question.j2", minijinja::context! { sources, history, question })
    }

    pub fn rewrite(&self, history: &[Turn], question: &str) -> Result<String, PromptError> {
        self.render("rewrite.j2", minijinja::context! { history, question })
    }

    pub fn no_answer(&self, question: &str) -> Result<String, PromptError> {
        self.render("no_answer.j2", minijinja::context! { question })
    }

    /// The llama.cpp grammar an answer over `sources` numbered sources must match.
    pub fn answer_grammar(&self, sources: usize, max_sentences: usize) -> Result<String, PromptError> {
        self.render("answer.gbnf.j2", minijinja::context! { sources, max_sentences => max_sentences.max(1) })
    }

    /// The shape an answer over `sources` numbered sources is decoded within: the grammar, and the words
    /// no sentence may end on.
    pub fn answer_shape(&self, sources: usize, max_sentences: usize) -> Result<AnswerShape, PromptError> {
        Ok(AnswerShape { grammar: self.answer_grammar(sources, max_sentences)?, unfinished_endings: self.unfinished_endings.clone() })
    }
}

/// The most recent turns whose total does not pass `budget` tokens, oldest first.
pub fn bounded_history(history: &[Turn], budget: usize, count_tokens: impl Fn(&str) -> usize) -> Vec<Turn> {
    let mut kept = Vec::new();
    let mut used = 0;
    for turn in history.iter().rev() {
        let cost = count_tokens(&turn.content) + 4;
        if used + cost > budget {
            break;
        }
        used += cost;
        kept.push(turn.clone());
    }
    kept.reverse();
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(number: usize) -> Source {
        Source {
            number,
            record_id: format!("sample:{number}"),
            title: format!("Title {number}"),
            makers: vec!["Jan van Eyck".into()],
            date: Some("1434".into()),
            url: None,
            text: format!("Text of source {number}."),
            score: 1.0,
        }
    }

    #[test]
    fn sources_are_numbered_with_their_record_ids() {
        let prompts = Prompts::load(None).unwrap();
        let text = prompts.question(&[source(1), source(2)], &[], "Who painted it?").unwrap();
        assert!(text.contains("[1] Title 1 by Jan van Eyck (1434), record sample:1"), "{text}");
        // The support check reads what the model was shown through `heading`.
        assert!(text.contains(&format!("[2] {}\n", source(2).heading())), "{text}");
        assert!(text.contains("[2] Title 2"), "{text}");
        assert!(text.contains("Question: Who painted it?"), "{text}");
        assert!(!text.contains("Earlier in this conversation"), "{text}");
    }

    #[test]
    fn history_keeps_the_latest_turns_within_budget() {
        let turns: Vec<Turn> = (0..5).map(|i| Turn { role: "user".into(), content: format!("question {i}") }).collect();
        let kept = bounded_history(&turns, 12, |t| t.split_whitespace().count());
        assert_eq!(kept.iter().map(|t| t.content.as_str()).collect::<Vec<_>>(), ["question 3", "question 4"]);
    }

    #[test]
    fn the_answer_grammar_allows_exactly_the_given_source_numbers() {
        let grammar = Prompts::load(None).unwrap().answer_grammar(3, 4).unwrap();
        assert!(grammar.contains(r#"source ::= "1" | "2" | "3""#), "{grammar}");
        assert!(grammar.contains("{0,3}"), "{grammar}");
    }

    #[test]
    fn the_system_prompt_does_not_change_between_questions() {
        // Its KV state is reused across requests, so it must not depend on the question.
        let prompts = Prompts::load(None).unwrap();
        assert_eq!(prompts.system(true).unwrap(), prompts.system(true).unwrap());
        assert!(!prompts.system(true).unwrap().is_empty());
        assert!(prompts.system(true).unwrap().contains("has no record"));
        assert!(!prompts.system(false).unwrap().contains("has no record"), "a gated prompt offers no way out");
    }
}
