//! The BM25 index (tantivy): one document per chunk, searched on the chunk text (the title, makers and
//! subjects fields answer explicit `field:word` queries), filterable on source, object type, maker words
//! and year range.
//!
//! Invariant: tantivy segment files are immutable, so a new generation starts as hard links to the
//! previous generation's files and applies its changes on top; the previous generation is never written.

use std::collections::{HashMap, HashSet};
use std::ops::{Bound, Range};
use std::path::Path;

use tantivy::collector::TopDocs;
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, Query, QueryParser, RangeQuery, TermQuery,
};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, INDEXED, STORED, STRING,
};
use tantivy::tokenizer::{Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer};
use tantivy::{doc, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, Term};

use super::filter::{words, Filters};
use super::store::{Chunk, ChunkId};
use super::IndexError;
use crate::records::MuseumRecord;

const ANALYZER: &str = "curator_en";
const WRITER_MEMORY: usize = 64 * 1024 * 1024;
/// Hits fetched beyond a search's limit so that equal scores across the cut are ordered by chunk id
/// (`TextIndex::search`): a series' identical texts score the same.
const TIE_MARGIN: usize = 64;

#[derive(Clone, Copy)]
struct Fields {
    chunk_id: Field,
    record_id: Field,
    title: Field,
    makers: Field,
    body: Field,
    subjects: Field,
    source: Field,
    object_type: Field,
    maker_words: Field,
    year_start: Field,
    year_end: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default().set_tokenizer(ANALYZER).set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let words = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default().set_tokenizer("whitespace").set_index_option(IndexRecordOption::Basic),
    );
    let fields = Fields {
        chunk_id: b.add_u64_field("chunk_id", INDEXED | STORED | FAST),
        record_id: b.add_text_field("record_id", STRING | STORED),
        title: b.add_text_field("title", text.clone()),
        makers: b.add_text_field("makers", text.clone()),
        body: b.add_text_field("body", text.clone()),
        subjects: b.add_text_field("subjects", text),
        source: b.add_text_field("source", STRING),
        object_type: b.add_text_field("object_type", STRING),
        maker_words: b.add_text_field("maker_words", words),
        year_start: b.add_i64_field("year_start", INDEXED | FAST),
        year_end: b.add_i64_field("year_end", INDEXED | FAST),
    };
    (b.build(), fields)
}

fn register_analyzer(index: &Index) {
    // English stemming and stop words, as in the BM25 baselines curator is compared with.
    let mut builder = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .dynamic();
    if let Some(stop) = StopWordFilter::new(Language::English) {
        builder = builder.filter_dynamic(stop);
    }
    let analyzer = builder.filter_dynamic(Stemmer::new(Language::English)).build();
    index.tokenizers().register(ANALYZER, analyzer);
}

/// The fields a query may name on purpose (`title:vermeer`); README "Searching" documents them.
pub const QUERY_FIELDS: [&str; 3] = ["title", "makers", "subjects"];

/// A user's text as tantivy query syntax that means just the words: a colon is a field prefix only after
/// a documented field name (`Venice: Sunset` is two words, not the field `Venice`), and brackets, braces,
/// carets, tildes, stars, question and exclamation marks and backslashes are not operators. Double quotes
/// (phrases) and a leading `-` or `+` keep their meaning; single and typographic quotes are read as a
/// sentence quotes a title ([`with_plain_quotes`]).
pub fn plain_text_query(query: &str) -> String {
    let query = with_plain_quotes(query);
    let mut out = Vec::new();
    for token in query.split_whitespace() {
        let (field, rest) = match token.split_once(':') {
            Some((field, rest)) if QUERY_FIELDS.contains(&field.to_lowercase().as_str()) && !rest.is_empty() => {
                (Some(field.to_lowercase()), rest)
            }
            _ => (None, token),
        };
        let words: String = rest
            .chars()
            .map(|c| if matches!(c, ':' | '(' | ')' | '[' | ']' | '{' | '}' | '^' | '~' | '*' | '?' | '!' | '\\' | '/' | '<' | '>' | '=') { ' ' } else { c })
            .collect();
        match field {
            Some(field) if !words.trim().is_empty() && !words.starts_with(' ') => out.push(format!("{field}:{words}")),
            _ => out.push(words),
        }
    }
    out.join(" ")
}

/// A span of a query quoted the way a sentence quotes a title, as byte ranges of the query: its words, and
/// its words with their quotes.
struct Quoted {
    words: Range<usize>,
    quoted: Range<usize>,
}

/// The spans of `query` quoted the way a sentence quotes a title: 'The Night Watch', ‘…’ or “…”. Straight
/// double quotes are tantivy's phrase syntax already and are left to it. A quote opens only at the start
/// of a word and closes only at the end of one, so the apostrophes of "Turner's" and "painters'" quote
/// nothing.
fn quoted_spans(query: &str) -> Vec<Quoted> {
    let mut spans = Vec::new();
    // Where the search for the next opening quote starts: after the previous span's closing quote.
    let mut from = 0;
    let chars_from = |start: usize| query[start..].char_indices().map(move |(i, c)| (start + i, c));
    while let Some((open_at, open)) = chars_from(from).find(|&(i, c)| {
        matches!(c, '\'' | '‘' | '“') && query[from..i].chars().next_back().is_none_or(|p| p.is_whitespace() || "([{".contains(p))
    }) {
        let closes = |c: char| match open {
            '‘' => c == '’',
            '“' => c == '”',
            _ => c == '\'' || c == '’',
        };
        let words_start = open_at + open.len_utf8();
        let closing = chars_from(words_start).find(|&(i, c)| {
            closes(c)
                && query[words_start..i].chars().next_back().is_some_and(|p| !p.is_whitespace())
                && query[i + c.len_utf8()..].chars().next().is_none_or(|n| !n.is_alphanumeric())
        });
        let Some((close_at, close)) = closing else { break };
        from = close_at + close.len_utf8();
        if query[words_start..close_at].chars().any(char::is_alphanumeric) {
            spans.push(Quoted { words: words_start..close_at, quoted: open_at..from });
        }
    }
    spans
}

/// `query` with every quoted span ([`quoted_spans`]) as its words followed by the same words as a
/// double-quoted phrase, and every other `'` that starts a word a space. tantivy reads a word that starts
/// with `'` as the start of a phrase running to the next `'`, so a stray quote could swallow half a
/// question (an apostrophe inside a word, "Turner's", "5'-nucleotidase", is a word's and stays). A quoted
/// title is both its words, so an inexact quote still finds the work, and a phrase, so the record it
/// names outranks records that hold its words apart ("What materials were used for 'Remagen [Turner]'?"
/// against Turner's other sketches).
fn with_plain_quotes(query: &str) -> String {
    let mut out = String::with_capacity(query.len() + 16);
    let mut done = 0;
    for Quoted { words, quoted } in quoted_spans(query) {
        let words = query[words].replace('"', " ");
        out.push_str(&query[done..quoted.start]);
        out.push_str(&format!(" {words} \"{words}\""));
        done = quoted.end;
    }
    out.push_str(&query[done..]);
    let mut previous = None;
    out.chars()
        .map(|c| {
            let opens_phrase = c == '\'' && previous.is_none_or(|p: char| p.is_whitespace() || "-+([{".contains(p));
            previous = Some(c);
            if opens_phrase { ' ' } else { c }
        })
        .collect()
}

/// English function words, lower-case: Lucene's English stop set with "been". Left out of the BM25 query
/// with the question words and auxiliary verbs below.
const FUNCTION_WORDS: &[&str] = &[
    "a", "an", "and", "as", "at", "be", "been", "but", "by", "for", "if", "in", "into", "it", "no", "not", "of",
    "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "will", "with",
];
/// The words a question is asked with ("in what year ...", "by whom ...": one of the first two words).
const QUESTION_WORDS: &[&str] = &["who", "whom", "whose", "what", "when", "where", "which", "why", "how"];
/// Auxiliary verbs: stopwords, and (with "can" and "could") the verbs a yes/no question opens with.
const AUXILIARY_VERBS: &[&str] = &["is", "are", "was", "were", "did", "does", "do", "has", "have", "had"];

fn is_query_stopword(word: &str) -> bool {
    [FUNCTION_WORDS, QUESTION_WORDS, AUXILIARY_VERBS].iter().any(|words| words.contains(&word))
}

/// `plain` (a query `plain_text_query` has made safe) without its stopwords, outside quoted phrases and
/// field prefixes; unchanged when nothing else would be left.
pub fn without_stopwords(plain: &str) -> String {
    let mut kept = Vec::new();
    let mut in_phrase = false;
    for token in plain.split_whitespace() {
        let quotes = token.matches('"').count();
        let word = token.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase();
        let stopword = !in_phrase && quotes == 0 && !token.contains(':') && is_query_stopword(&word);
        if !stopword {
            kept.push(token);
        }
        if quotes % 2 == 1 {
            in_phrase = !in_phrase;
        }
    }
    if kept.iter().all(|t| t.trim_matches(|c: char| !c.is_alphanumeric()).is_empty()) {
        return plain.to_string();
    }
    kept.join(" ")
}

/// Whether `query` is asked as a question ("who painted ...?", "in what year was ...", "what did velzquez
/// recruit") rather than typed as search words ("Rembrandt self portrait"): it ends with a question mark,
/// or one of its first two words is a question word, or its first word a verb that opens a question. A
/// question names people as its subject as often as their makers, so `maker_boost` is for search words.
pub fn reads_as_question(query: &str) -> bool {
    if query.trim_end().ends_with('?') {
        return true;
    }
    // "what's" is "what".
    let mut words = query.split_whitespace().map(|w| w.split(['\'', '’']).next().unwrap_or(w).trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase());
    let first = words.next().unwrap_or_default();
    let second = words.next().unwrap_or_default();
    let opens_yes_no = AUXILIARY_VERBS.contains(&first.as_str()) || first == "can" || first == "could";
    opens_yes_no || [first, second].iter().any(|w| QUESTION_WORDS.contains(&w.as_str()))
}

/// Shorter words are not corrected: one edit turns most of them into another word.
const MIN_CORRECTED_LETTERS: usize = 4;

/// The terms of `plain` (a query `plain_text_query` has made safe) that search reads in the chunk text:
/// without the words under a field prefix or excluded with `-`.
fn terms_outside_fields(plain: &str, index: &Index) -> HashSet<String> {
    let Some(mut analyzer) = index.tokenizers().get(ANALYZER) else { return HashSet::new() };
    let body_words: Vec<&str> = plain.split_whitespace().filter(|t| !t.contains(':') && !t.starts_with('-')).collect();
    terms(&mut analyzer, &body_words.join(" "))
}

fn terms(analyzer: &mut TextAnalyzer, text: &str) -> HashSet<String> {
    let mut out = HashSet::new();
    let mut stream = analyzer.token_stream(text);
    while stream.advance() {
        out.insert(stream.token().text.clone());
    }
    out
}

pub struct TextIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    parser: QueryParser,
    /// The query's words in the makers field, for `maker_boost`.
    maker_parser: QueryParser,
}

impl TextIndex {
    /// Opens the index in `dir`, creating an empty one if there is none.
    pub fn open_or_create(dir: &Path) -> Result<TextIndex, IndexError> {
        let (schema, fields) = schema();
        std::fs::create_dir_all(dir).map_err(|source| IndexError::Io { path: dir.to_path_buf(), source })?;
        let tantivy_err = |e: tantivy::TantivyError| IndexError::Text { path: dir.to_path_buf(), why: e.to_string() };
        let index = if dir.join("meta.json").exists() {
            Index::open_in_dir(dir).map_err(tantivy_err)?
        } else {
            Index::create_in_dir(dir, schema.clone()).map_err(tantivy_err)?
        };
        if index.schema() != schema {
            return Err(IndexError::Text { path: dir.to_path_buf(), why: "schema differs from this version's".into() });
        }
        register_analyzer(&index);
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into().map_err(tantivy_err)?;
        // Words are matched in the chunk text only: it already holds the title, makers, date and facts (the
        // header), and scoring them again in their own fields counts them twice. Measured on the tuning
        // questions (README "Retrieval"): AQUA R@1 0.535 with a title field boosted 1.5, 0.807 text only;
        // SciFact nDCG@10 0.622 against 0.683. The other fields stay addressable: `title:vermeer`.
        let parser = QueryParser::for_index(&index, vec![fields.body]);
        let maker_parser = QueryParser::for_index(&index, vec![fields.makers]);
        Ok(TextIndex { index, reader, fields, parser, maker_parser })
    }

    pub fn writer(&self) -> Result<IndexWriter, IndexError> {
        let threads = crate::threads_or_all_cores(0).min(4);
        self.index
            .writer_with_num_threads(threads, WRITER_MEMORY * threads)
            .map_err(|e| IndexError::Text { path: Default::default(), why: e.to_string() })
    }

    pub fn delete_record(&self, writer: &IndexWriter, record_id: &str) {
        writer.delete_term(Term::from_field_text(self.fields.record_id, record_id));
    }

    pub fn add_chunk(&self, writer: &IndexWriter, record: &MuseumRecord, chunk: &Chunk) -> Result<(), IndexError> {
        let f = self.fields;
        let mut d = doc!(
            f.chunk_id => chunk.id as u64,
            f.record_id => record.id.clone(),
            f.title => record.title.clone(),
            f.makers => record.makers.join("; "),
            f.body => chunk.text.clone(),
            f.subjects => record.subjects.join("; "),
            f.source => record.source.clone(),
            f.maker_words => record.makers.iter().flat_map(|m| words(m)).collect::<Vec<_>>().join(" "),
        );
        if let Some(kind) = &record.object_type {
            d.add_text(f.object_type, kind.to_lowercase());
        }
        if let (Some(a), Some(b)) = (record.year_start, record.year_end) {
            d.add_i64(f.year_start, a as i64);
            d.add_i64(f.year_end, b as i64);
        }
        writer.add_document(d).map(|_| ()).map_err(|e| IndexError::Text { path: Default::default(), why: e.to_string() })
    }

    pub fn commit(&mut self, mut writer: IndexWriter) -> Result<(), IndexError> {
        let err = |e: tantivy::TantivyError| IndexError::Text { path: Default::default(), why: e.to_string() };
        writer.commit().map_err(err)?;
        writer.wait_merging_threads().map_err(err)?;
        self.reader.reload().map_err(err)
    }

    /// BM25 top `limit` chunks for `query`, restricted by `filters`; (chunk id, score), best first. With
    /// `maker_boost` above 0, a chunk whose record's makers hold words of the query scores their BM25 in
    /// the makers field, times `maker_boost`, on top: "Rembrandt self portrait" prefers Rembrandt's
    /// self-portraits to a pupil's whose text names him. Not for a query that [`reads_as_question`].
    /// With `drop_stopwords`, English function words are left out of the query (unless it has nothing
    /// else): chunks that repeat a question's "were" and "for" otherwise outscore the one rarer word that
    /// names the work. A word no chunk holds is also read as its likeliest spelling ([`Self::spelling_corrections`]).
    pub fn search(&self, query: &str, filters: &Filters, limit: usize, maker_boost: f32, drop_stopwords: bool) -> Result<Vec<(ChunkId, f32)>, IndexError> {
        let plain = plain_text_query(query);
        let plain = if drop_stopwords { without_stopwords(&plain) } else { plain };
        let (text_query, _unparsed) = self.parser.parse_query_lenient(&plain);
        let searcher = self.reader.searcher();
        let corrections = self.spelling_corrections(&searcher, &terms_outside_fields(&plain, &self.index));
        // The query, or any of the corrected words, in `field`.
        let or_corrected = |query: Box<dyn Query>, field: Field| -> Box<dyn Query> {
            if corrections.is_empty() {
                return query;
            }
            let mut either = vec![(Occur::Should, query)];
            either.extend(corrections.values().map(|known| {
                let term = Term::from_field_text(field, known);
                (Occur::Should, Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs)) as Box<dyn Query>)
            }));
            Box::new(BooleanQuery::new(either))
        };
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, or_corrected(text_query, self.fields.body))];
        if maker_boost > 0.0 && !reads_as_question(query) {
            let (maker_query, _unparsed) = self.maker_parser.parse_query_lenient(&plain);
            let maker_query = or_corrected(maker_query, self.fields.makers);
            clauses.push((Occur::Should, Box::new(BoostQuery::new(maker_query, maker_boost))));
        }
        if let Some(filter) = self.filter_query(filters) {
            clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(filter, 0.0))));
        }
        let query = BooleanQuery::new(clauses);
        let err = |e: tantivy::TantivyError| IndexError::Text { path: Default::default(), why: e.to_string() };
        // Equal scores (a series' identical texts) are ordered by chunk id, not by where a segment merge
        // happened to put them, so two indexes of the same records give the same list: a few more than
        // `limit` are fetched so that a tie across the cut is settled the same way.
        let top = searcher.search(&query, &TopDocs::with_limit(limit.max(1) + TIE_MARGIN).order_by_score()).map_err(err)?;
        let mut out = Vec::with_capacity(top.len());
        for (score, address) in top {
            let column = searcher.segment_reader(address.segment_ord).fast_fields().u64("chunk_id").map_err(err)?;
            if let Some(id) = column.first(address.doc_id) {
                out.push((id as ChunkId, score));
            }
        }
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out.truncate(limit.max(1));
        Ok(out)
    }

    fn filter_query(&self, filters: &Filters) -> Option<Box<dyn Query>> {
        let f = self.fields;
        let mut must: Vec<Box<dyn Query>> = Vec::new();
        let term = |field, text: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(Term::from_field_text(field, text), IndexRecordOption::Basic))
        };
        if let Some(source) = &filters.source {
            must.push(term(f.source, source));
        }
        if let Some(kind) = &filters.object_type {
            must.push(term(f.object_type, kind));
        }
        if let Some(maker) = &filters.maker {
            must.extend(words(maker).iter().map(|w| term(f.maker_words, w)));
        }
        if filters.year_from.is_some() || filters.year_to.is_some() {
            // Overlap of [start, end] with [from, to]: start <= to and end >= from.
            let to = filters.year_to.map_or(Bound::Unbounded, |y| Bound::Included(Term::from_field_i64(f.year_start, y as i64)));
            let from = filters.year_from.map_or(Bound::Unbounded, |y| Bound::Included(Term::from_field_i64(f.year_end, y as i64)));
            must.push(Box::new(RangeQuery::new(Bound::Included(Term::from_field_i64(f.year_start, i64::MIN)), to)));
            must.push(Box::new(RangeQuery::new(from, Bound::Included(Term::from_field_i64(f.year_end, i64::MAX)))));
        }
        match must.len() {
            0 => None,
            _ => Some(Box::new(BooleanQuery::new(must.into_iter().map(|q| (Occur::Must, q)).collect()))),
        }
    }

    /// For each of `terms` that no chunk holds, the indexed term one edit away (an insertion, deletion,
    /// substitution or swap of neighbours) that the most chunks hold: "velazquez" and "velzquez" (a
    /// question whose accented letters were lost) are read as "velázquez", "rembrant" as "rembrandt". Terms
    /// of fewer than four letters, and terms with digits (years, catalogue numbers), are left alone: one
    /// edit makes them another word or number.
    fn spelling_corrections(&self, searcher: &Searcher, terms: &HashSet<String>) -> HashMap<String, String> {
        let mut out = HashMap::new();
        for term in terms {
            if term.chars().count() < MIN_CORRECTED_LETTERS || term.chars().any(|c| c.is_numeric()) {
                continue;
            }
            let unknown = Term::from_field_text(self.fields.body, term);
            if searcher.doc_freq(&unknown).unwrap_or(0) > 0 {
                continue;
            }
            let Ok(automaton) = FuzzyTermQuery::new(unknown, 1, true).automaton() else { continue };
            let mut chunks_holding: HashMap<String, u64> = HashMap::new();
            for segment in searcher.segment_readers() {
                let Ok(inverted) = segment.inverted_index(self.fields.body) else { continue };
                let Ok(mut stream) = inverted.terms().search(&automaton).into_stream() else { continue };
                while stream.advance() {
                    if let Ok(known) = std::str::from_utf8(stream.key()) {
                        *chunks_holding.entry(known.to_string()).or_default() += stream.value().doc_freq as u64;
                    }
                }
            }
            // The most widely held, and of those the first in byte order, so that a query reads the same way
            // whatever order the segments come in.
            if let Some((known, _)) = chunks_holding.into_iter().max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0))) {
                out.insert(term.clone(), known);
            }
        }
        out
    }

    /// `question` with each word that search reads as another ([`Self::spelling_corrections`]) written as
    /// that indexed word, so that what else reads the question's words (the answer gate) reads them as
    /// search did: "how many sides must drer have intended" names "dürer".
    pub fn as_search_reads_it(&self, question: &str) -> String {
        let Some(mut analyzer) = self.index.tokenizers().get(ANALYZER) else { return question.to_string() };
        let corrections = self.spelling_corrections(&self.reader.searcher(), &terms(&mut analyzer, question));
        if corrections.is_empty() {
            return question.to_string();
        }
        let mut out = String::with_capacity(question.len() + 8);
        let mut word = String::new();
        let mut flush = |word: &mut String, out: &mut String| {
            let read = terms(&mut analyzer, word);
            match read.iter().next().filter(|_| read.len() == 1).and_then(|t| corrections.get(t)) {
                Some(known) => out.push_str(known),
                None => out.push_str(word),
            }
            word.clear();
        };
        for c in question.chars() {
            if c.is_alphanumeric() {
                word.push(c);
            } else {
                flush(&mut word, &mut out);
                out.push(c);
            }
        }
        flush(&mut word, &mut out);
        out
    }

    /// The share of `query`'s distinct terms, as BM25 reads them (lower case, no stop words, stemmed) and
    /// weighted by their BM25 IDF in the body field, that `text` holds: "saftleven" counts for more than
    /// "painting". 1 for a query with no terms.
    pub fn matched_share(&self, query: &str, text: &str) -> f32 {
        let Some(mut analyzer) = self.index.tokenizers().get(ANALYZER) else { return 1.0 };
        let searcher = self.reader.searcher();
        let wanted = terms(&mut analyzer, query);
        let corrections = self.spelling_corrections(&searcher, &wanted);
        let wanted: HashSet<String> = wanted.into_iter().map(|t| corrections.get(&t).cloned().unwrap_or(t)).collect();
        let held = terms(&mut analyzer, text);
        let docs = searcher.num_docs() as f32;
        let idf = |term: &String| {
            let df = searcher.doc_freq(&Term::from_field_text(self.fields.body, term)).unwrap_or(0) as f32;
            (1.0 + (docs - df + 0.5) / (df + 0.5)).ln()
        };
        let total: f32 = wanted.iter().map(idf).sum();
        if total <= 0.0 {
            return 1.0;
        }
        wanted.iter().filter(|t| held.contains(*t)).map(idf).sum::<f32>() / total
    }

    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }
}

/// Makes `to` a copy of the tantivy index in `from` by hard links (falling back to copies across devices).
pub fn link_index_files(from: &Path, to: &Path) -> Result<(), IndexError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| IndexError::Io { path, source }
    };
    std::fs::create_dir_all(to).map_err(io(to))?;
    for entry in std::fs::read_dir(from).map_err(io(from))? {
        let entry = entry.map_err(io(from))?;
        let name = entry.file_name();
        // Lock files belong to the writer of the old generation, not to its contents.
        if name.to_string_lossy().starts_with(".tantivy-") || !entry.path().is_file() {
            continue;
        }
        let target = to.join(&name);
        if std::fs::hard_link(entry.path(), &target).is_err() {
            std::fs::copy(entry.path(), &target).map_err(io(&target))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An index of one chunk per text.
    fn index_of(texts: &[&str]) -> (tempfile::TempDir, TextIndex) {
        let dir = tempfile::tempdir().unwrap();
        let mut index = TextIndex::open_or_create(dir.path()).unwrap();
        let writer = index.writer().unwrap();
        for (i, text) in texts.iter().enumerate() {
            let record = MuseumRecord { id: format!("t:{i}"), title: text.to_string(), ..Default::default() };
            let chunk = Chunk { id: i as ChunkId, record_id: record.id.clone(), ordinal: 0, text: text.to_string() };
            index.add_chunk(&writer, &record, &chunk).unwrap();
        }
        index.commit(writer).unwrap();
        (dir, index)
    }

    #[test]
    fn questions_are_told_from_search_words_by_their_first_words_or_question_mark() {
        for question in ["Who painted The Milkmaid?", "what did velzquez recruit", "what's the vision of love", "in what year was Remagen made", "by whom was it painted", "Is the Night Watch on canvas", "Rembrandt self portrait?"] {
            assert!(reads_as_question(question), "{question}");
        }
        for words in ["Rembrandt self portrait", "a lonely figure on a beach", "Turner Thames", "portraits of Dutch merchants 1600-1650", ""] {
            assert!(!reads_as_question(words), "{words}");
        }
    }

    #[test]
    fn only_a_word_no_chunk_holds_is_corrected_to_the_most_widely_held_word_one_edit_away() {
        let (_dir, index) = index_of(&["Velázquez at court", "a pain", "paint", "paint and paint", "paints"]);
        let words = ["velzquez", "velazquez", "pain", "pait", "1633", "dog", "velasquez"];
        let corrections = index.spelling_corrections(&index.reader.searcher(), &words.iter().map(|w| w.to_string()).collect());
        assert_eq!(corrections.get("velzquez").map(String::as_str), Some("velázquez"));
        assert_eq!(corrections.get("velazquez").map(String::as_str), Some("velázquez"));
        // One edit from "pain" (one chunk) and from "paint" (three): the more widely held.
        assert_eq!(corrections.get("pait").map(String::as_str), Some("paint"));
        // A held word is read as it is; digits, short words and two edits are not corrected.
        assert_eq!(corrections.len(), 3, "{corrections:?}");
        assert_eq!(index.as_search_reads_it("What did Velzquez paint, and the pait?"), "What did velázquez paint, and the paint?");
    }

    fn quoted_words(query: &str) -> Vec<&str> {
        quoted_spans(query).into_iter().map(|q| &query[q.words]).collect()
    }

    #[test]
    fn a_title_in_single_or_typographic_quotes_is_a_span_and_an_apostrophe_is_not() {
        assert_eq!(quoted_words("What materials were used for 'Remagen [Turner]'?"), ["Remagen [Turner]"]);
        assert_eq!(quoted_words("Who created ‘The Night Watch’ and “The Milkmaid”?"), ["The Night Watch", "The Milkmaid"]);
        assert_eq!(quoted_words("Turner's 'Fighting Temeraire'"), ["Fighting Temeraire"]);
        assert_eq!(quoted_words("Turner’s pictures of the painters' wives"), Vec::<&str>::new());
        assert_eq!(quoted_words("the artist's dog and the painter's cat"), Vec::<&str>::new());
        assert_eq!(quoted_words("an 'unclosed quote"), Vec::<&str>::new());
        assert_eq!(quoted_words("'' and ' '"), Vec::<&str>::new());
        // Quotes in every arrangement, multi-byte ones among them, are cut at character boundaries.
        for odd in ["''''", "'‘’'", "“”", "'a'b'c'", "‘a’’", "(‘é’)", "'é", "é'", "“'x'”", "-'a b'", "'a' 'b'"] {
            let _ = plain_text_query(odd);
        }
        // And every string of up to five characters drawn from quotes, a letter, an accented letter and
        // a space.
        let alphabet = ['\'', '\u{2018}', '\u{2019}', '\u{201c}', '\u{201d}', '"', 'a', '\u{e9}', ' '];
        let mut queries = vec![String::new()];
        for _ in 0..5 {
            queries = queries.iter().flat_map(|q| alphabet.iter().map(move |c| format!("{q}{c}"))).collect();
            for query in &queries {
                let _ = without_stopwords(&plain_text_query(query));
            }
        }
    }

    #[test]
    fn a_quoted_title_is_its_words_and_a_phrase_and_an_apostrophe_opens_no_phrase() {
        assert_eq!(plain_text_query("What materials were used for 'Remagen [Turner]'?"), "What materials were used for Remagen  Turner  \"Remagen  Turner \" ");
        assert_eq!(plain_text_query("Turner's ‘Fighting Temeraire’"), "Turner's Fighting Temeraire \"Fighting Temeraire\"");
        // Apostrophes inside words are the words'; one that starts a word opens no phrase.
        assert_eq!(plain_text_query("5'-nucleotidase in the painters' wives"), "5'-nucleotidase in the painters' wives");
        assert_eq!(plain_text_query("an 'unclosed quote"), "an unclosed quote");
        // A stop word inside a quoted title stays, or the phrase would not match the title's positions.
        assert_eq!(without_stopwords(&plain_text_query("What materials were used for 'Woman Feeding a Calf'?")), "materials used Woman Feeding Calf \"Woman Feeding a Calf\"");
    }

    #[test]
    fn stopwords_are_left_out_of_a_query_but_not_out_of_a_phrase_a_field_or_a_query_of_nothing_else() {
        let plain = plain_text_query("What materials were used for 'Remagen'?");
        assert_eq!(without_stopwords(&plain), "materials used Remagen \"Remagen\"");
        assert_eq!(without_stopwords("were used for Remagen"), "used Remagen");
        assert_eq!(without_stopwords("\"The Night Watch\" by Rembrandt"), "\"The Night Watch\" Rembrandt");
        assert_eq!(without_stopwords("\"the eve of the battle\" of Turner"), "\"the eve of the battle\" Turner");
        assert_eq!(without_stopwords("title:the Watch"), "title:the Watch");
        assert_eq!(without_stopwords("To Be or Not"), "To Be or Not");
    }
}
