//! Sentence counting with the Punkt algorithm (Kiss & Strunk 2006) and NLTK's
//! pretrained English parameters, as Google's `count_sentences` does with
//! `nltk.data.load("tokenizers/punkt/english.pickle")`.
//!
//! No sentence splitter published on crates.io reproduces NLTK here (see the module
//! docs of `ifeval` for the comparison), so this file ports the *inference* half of
//! NLTK's `PunktSentenceTokenizer` (3.8+, after the ReDoS fix): the word tokenizer,
//! the two annotation passes, the orthographic heuristic, the potential-end contexts
//! and the boundary realignment. It learns nothing; the parameters are NLTK's English
//! model (abbreviations, collocations, sentence starters, orthographic contexts) as
//! converted to JSON by the `punkt` crate (MIT/Apache-2.0), in `punkt_english.json`.
use fancy_regex::Regex as FancyRegex;
use regex::Regex;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

const ORTHO_BEG_UC: u32 = 1 << 1;
const ORTHO_MID_UC: u32 = 1 << 2;
const ORTHO_UNK_UC: u32 = 1 << 3;
const ORTHO_BEG_LC: u32 = 1 << 4;
const ORTHO_MID_LC: u32 = 1 << 5;
const ORTHO_UNK_LC: u32 = 1 << 6;
const ORTHO_UC: u32 = ORTHO_BEG_UC | ORTHO_MID_UC | ORTHO_UNK_UC;
const ORTHO_LC: u32 = ORTHO_BEG_LC | ORTHO_MID_LC | ORTHO_UNK_LC;

/// Punctuation that stands as a non-word after a sentence end (NLTK's `_re_non_word_chars`).
const NON_WORD: &str = r#"(?:[)";}\]\*:@'\({\[\u2018\u2019\u201c\u201d\xab\xbb?!])"#;
const MULTI_CHAR: &str = r"(?:\-{2,}|\.{2,}|(?:\.\s){2,}\.)";
const WORD_START: &str = r#"[^\("`{\[:;&\#\*@\)}\]\-,]"#;

#[derive(Deserialize)]
struct RawParams {
    abbrev_types: Vec<String>,
    collocations: Vec<(String, String)>,
    sent_starters: Vec<String>,
    ortho_context: HashMap<String, u32>,
}

struct Punkt {
    abbrev_types: HashSet<String>,
    collocations: HashSet<(String, String)>,
    sent_starters: HashSet<String>,
    ortho_context: HashMap<String, u32>,
    word_re: FancyRegex,
    non_word_re: Regex,
    numeric_re: Regex,
    initial_re: Regex,
    realign_re: FancyRegex,
}

fn punkt() -> &'static Punkt {
    static P: OnceLock<Punkt> = OnceLock::new();
    P.get_or_init(|| {
        let raw: RawParams =
            serde_json::from_str(include_str!("punkt_english.json")).expect("punkt_english.json is valid (shipped)");
        let word = format!(
            r"({MULTI_CHAR}|(?={WORD_START})\S+?(?=\s|$|{NON_WORD}|{MULTI_CHAR}|,(?=$|\s|{NON_WORD}|{MULTI_CHAR}))|\S)"
        );
        Punkt {
            abbrev_types: raw.abbrev_types.into_iter().collect(),
            collocations: raw.collocations.into_iter().collect(),
            sent_starters: raw.sent_starters.into_iter().collect(),
            ortho_context: raw.ortho_context,
            word_re: FancyRegex::new(&word).expect("word regex"),
            non_word_re: Regex::new(&format!("^{NON_WORD}")).expect("non-word regex"),
            numeric_re: Regex::new(r"^-?[\.,]?\d[\d,\.-]*\.?$").expect("numeric regex"),
            initial_re: Regex::new(r"^[^\W\d]\.$").expect("initial regex"),
            realign_re: FancyRegex::new("(?m)\\A[\"')\\]}\u{2018}\u{2019}\u{201c}\u{201d}\u{ab}\u{bb}]+?(?:\\s+|(?=--)|$)")
                .expect("realign regex"),
        }
    })
}

/// One word token with its annotations (NLTK's `PunktToken`).
struct Token<'a> {
    tok: &'a str,
    typ: String,
    sentbreak: bool,
    abbr: bool,
    ellipsis: bool,
}

impl<'a> Token<'a> {
    fn new(p: &Punkt, tok: &'a str) -> Self {
        let lower = tok.to_lowercase();
        let typ = if p.numeric_re.is_match(&lower) { "##number##".to_string() } else { lower };
        Token { tok, typ, sentbreak: false, abbr: false, ellipsis: false }
    }
    fn period_final(&self) -> bool {
        self.tok.ends_with('.')
    }
    fn type_no_period(&self) -> &str {
        if self.typ.chars().count() > 1 && self.typ.ends_with('.') {
            &self.typ[..self.typ.len() - 1]
        } else {
            &self.typ
        }
    }
    fn type_no_sentperiod(&self) -> &str {
        if self.sentbreak {
            self.type_no_period()
        } else {
            &self.typ
        }
    }
    fn first_upper(&self) -> bool {
        self.tok.chars().next().is_some_and(char::is_uppercase)
    }
    fn first_lower(&self) -> bool {
        self.tok.chars().next().is_some_and(char::is_lowercase)
    }
    fn is_ellipsis(&self) -> bool {
        self.tok.len() >= 2 && self.tok.bytes().all(|b| b == b'.')
    }
}

/// Punkt's word tokens of `text`, line by line (NLTK's `_tokenize_words`).
fn words<'a>(p: &Punkt, text: &'a str) -> Vec<Token<'a>> {
    let mut out = vec![];
    for line in text.split('\n') {
        if line.trim().is_empty() {
            continue;
        }
        for m in p.word_re.find_iter(line).flatten() {
            out.push(Token::new(p, m.as_str()));
        }
    }
    out
}

fn first_pass(p: &Punkt, t: &mut Token) {
    let tok = t.tok;
    if tok == "." || tok == "?" || tok == "!" {
        t.sentbreak = true;
    } else if t.is_ellipsis() {
        t.ellipsis = true;
    } else if t.period_final() && !tok.ends_with("..") {
        let stem = tok[..tok.len() - 1].to_lowercase();
        let last = stem.rsplit('-').next().unwrap_or("");
        if p.abbrev_types.contains(&stem) || p.abbrev_types.contains(last) {
            t.abbr = true;
        } else {
            t.sentbreak = true;
        }
    }
}

#[derive(PartialEq)]
enum Starter {
    Yes,
    No,
    Unknown,
}

fn ortho_heuristic(p: &Punkt, t: &Token) -> Starter {
    if matches!(t.tok, ";" | ":" | "," | "." | "!" | "?") {
        return Starter::No;
    }
    let ctx = p.ortho_context.get(t.type_no_sentperiod()).copied().unwrap_or(0);
    if t.first_upper() && ctx & ORTHO_LC != 0 && ctx & ORTHO_MID_UC == 0 {
        return Starter::Yes;
    }
    if t.first_lower() && (ctx & ORTHO_UC != 0 || ctx & ORTHO_BEG_LC == 0) {
        return Starter::No;
    }
    Starter::Unknown
}

fn second_pass(p: &Punkt, t1: &mut Token, t2: &Token) {
    if !t1.period_final() {
        return;
    }
    let typ = t1.type_no_period().to_string();
    let next_typ = t2.type_no_sentperiod().to_string();
    let initial = p.initial_re.is_match(t1.tok);
    if p.collocations.contains(&(typ.clone(), next_typ.clone())) {
        t1.sentbreak = false;
        t1.abbr = true;
        return;
    }
    if (t1.abbr || t1.ellipsis) && !initial {
        let s = ortho_heuristic(p, t2);
        if s == Starter::Yes || (t2.first_upper() && p.sent_starters.contains(&next_typ)) {
            t1.sentbreak = true;
            return;
        }
    }
    if initial || typ == "##number##" {
        let s = ortho_heuristic(p, t2);
        let unknown_lc = s == Starter::Unknown
            && initial
            && t2.first_upper()
            && p.ortho_context.get(&next_typ).copied().unwrap_or(0) & ORTHO_LC == 0;
        if s == Starter::No || unknown_lc {
            t1.sentbreak = false;
            t1.abbr = true;
        }
    }
}

/// Whether `context` holds a sentence break followed by another token.
fn contains_sentbreak(p: &Punkt, context: &str) -> bool {
    let mut toks = words(p, context);
    for t in toks.iter_mut() {
        first_pass(p, t);
    }
    for i in 0..toks.len() {
        if i + 1 < toks.len() {
            let (a, b) = toks.split_at_mut(i + 1);
            second_pass(p, &mut a[i], &b[0]);
        }
        if toks[i].sentbreak {
            return i + 1 < toks.len();
        }
    }
    false
}

/// A potential sentence end: the byte range of the end character, the text after it
/// that NLTK's `after_tok` group captures, and where the next token starts, if any.
struct EndMatch {
    start: usize,
    end: usize,
    after_end: usize,
    next_tok: Option<usize>,
}

fn potential_ends(p: &Punkt, text: &str) -> Vec<EndMatch> {
    let mut out = vec![];
    for (i, c) in text.char_indices() {
        if !matches!(c, '.' | '?' | '!') {
            continue;
        }
        let end = i + 1;
        let rest = &text[end..];
        if let Some(m) = p.non_word_re.find(rest) {
            out.push(EndMatch { start: i, end, after_end: end + m.end(), next_tok: None });
            continue;
        }
        let ws = rest.len() - rest.trim_start().len();
        if ws == 0 {
            continue;
        }
        let after_ws = &rest[ws..];
        let tok = after_ws.find(char::is_whitespace).unwrap_or(after_ws.len());
        if tok > 0 {
            out.push(EndMatch { start: i, end, after_end: end + ws + tok, next_tok: Some(end + ws) });
        }
    }
    out
}

/// NLTK's `_match_potential_end_contexts`: each end with the word before it and what
/// follows, overlapping candidates (as in `acting!!!`) reduced to the last.
fn end_contexts<'t>(p: &Punkt, text: &'t str) -> Vec<(EndMatch, String)> {
    let ascii_ws = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c');
    let mut out = vec![];
    let (mut prev_start, mut prev_stop) = (0usize, 0usize);
    let mut prev: Option<EndMatch> = None;
    let context = |m: &EndMatch, s: usize, e: usize| format!("{}{}", &text[s..e], &text[m.start..m.after_end]);
    for m in potential_ends(p, text) {
        let before = &text[prev_stop..m.start];
        let last_ws = before.char_indices().rev().find(|&(_, c)| ascii_ws(c)).map(|(i, _)| i).unwrap_or(0);
        let word_start = if last_ws > 0 { prev_stop + last_ws + 1 } else { prev_start };
        if let Some(pm) = prev.take() {
            if prev_stop <= word_start {
                let ctx = context(&pm, prev_start, prev_stop);
                out.push((pm, ctx));
            }
        }
        prev_start = word_start;
        prev_stop = m.start;
        prev = Some(m);
    }
    if let Some(pm) = prev {
        let ctx = context(&pm, prev_start, prev_stop);
        out.push((pm, ctx));
    }
    out
}

/// Sentence spans of `text` (NLTK's `span_tokenize` with boundary realignment).
pub fn sentence_spans(text: &str) -> Vec<(usize, usize)> {
    let p = punkt();
    let mut slices = vec![];
    let mut last_break = 0;
    for (m, ctx) in end_contexts(p, text) {
        if contains_sentbreak(p, &ctx) {
            slices.push((last_break, m.end));
            last_break = m.next_tok.unwrap_or(m.end);
        }
    }
    slices.push((last_break, text.trim_end().len()));
    let mut out = vec![];
    let mut realign = 0;
    for i in 0..slices.len() {
        let s1 = (slices[i].0 + realign, slices[i].1);
        let nonempty = s1.0 < s1.1;
        let Some(&s2) = slices.get(i + 1) else {
            if nonempty {
                out.push(s1);
            }
            continue;
        };
        let next = text.get(s2.0..s2.1).unwrap_or("");
        match p.realign_re.find(next).ok().flatten() {
            Some(m) => {
                out.push((s1.0, s2.0 + m.as_str().trim_end().len()));
                realign = m.end();
            }
            None => {
                realign = 0;
                if nonempty {
                    out.push(s1);
                }
            }
        }
    }
    out
}

/// Number of sentences, as `len(nltk punkt english tokenizer.tokenize(text))`.
pub fn count_sentences(text: &str) -> usize {
    sentence_spans(text).len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sents(t: &str) -> Vec<&str> {
        sentence_spans(t).into_iter().map(|(a, b)| &t[a..b]).collect()
    }

    #[test]
    fn splits_plain_sentences_and_keeps_abbreviations() {
        assert_eq!(sents("Hello there. How are you? Fine!"), ["Hello there.", "How are you?", "Fine!"]);
        assert_eq!(count_sentences("Mr. Smith went to Washington. He met Dr. Jones."), 2);
        assert_eq!(count_sentences("It cost $5.50 in the U.S. today."), 1);
    }

    #[test]
    fn realigns_closing_punctuation_and_ignores_trailing_space() {
        assert_eq!(sents("(Sent one.) Sent two."), ["(Sent one.)", "Sent two."]);
        assert_eq!(count_sentences("One sentence.   \n\n"), 1);
        assert_eq!(count_sentences(""), 0);
        assert_eq!(count_sentences("Very bad acting!!! I promise."), 2);
    }
}
