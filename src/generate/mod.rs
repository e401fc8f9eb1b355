//! Generation: the language model worker ([`llm`]), the prompt templates and numbered sources
//! ([`prompt`]), and the checks that keep citations honest ([`citations`]).
//!
//! Depends on `embed` (the support check) and on nothing after it; the pipeline that strings retrieval
//! and generation together is `app::Curator::ask`.

pub mod citations;
pub mod llm;
pub mod prompt;

pub use citations::{CheckedSentence, Citation, Support};
pub use llm::{AnswerShape, GenerateError, GenerationStats, Llm, Message, TokenEvent};
pub use prompt::{PromptError, Prompts, Source, Turn};
