//! `check(&Instruction, response)`: whether one response follows one instruction,
//! with the semantics of Google's `check_following` (patterns, counting and
//! splitting as there; see the module docs for the documented differences).
use super::registry::Instruction;
use super::text::{count_capital_words, count_words, py_islower, py_isupper};
use super::{lang, punkt};
use regex::{Regex, RegexBuilder};
use std::sync::OnceLock;

macro_rules! cached_regex {
    ($re:expr) => {{
        static RE: OnceLock<Regex> = OnceLock::new();
        RE.get_or_init(|| Regex::new($re).expect("static regex"))
    }};
}

fn case_insensitive(pattern: &str) -> Regex {
    RegexBuilder::new(pattern).case_insensitive(true).build().expect("escaped pattern compiles")
}

/// Whether `response` follows `ins`.
pub fn check(ins: &Instruction, response: &str) -> bool {
    use Instruction::*;
    match ins {
        KeywordsExistence { keywords } => keywords.iter().all(|k| case_insensitive(&regex::escape(k)).is_match(response)),
        KeywordFrequency { keyword, frequency, relation } => {
            relation.holds(case_insensitive(&regex::escape(keyword)).find_iter(response).count(), *frequency)
        }
        ForbiddenWords { words } => {
            !words.iter().any(|w| case_insensitive(&format!(r"\b{}\b", regex::escape(w))).is_match(response))
        }
        LetterFrequency { letter, frequency, relation } => {
            relation.holds(response.to_lowercase().chars().filter(|c| c == letter).count(), *frequency)
        }
        ResponseLanguage { language } => lang::detect(response).is_none_or(|l| &l == language),
        NumberSentences { num, relation } => relation.holds(punkt::count_sentences(response), *num),
        NumberParagraphs { num } => star_paragraphs(response) == Some(*num),
        NumberWords { num, relation } => relation.holds(count_words(response), *num),
        NthParagraphFirstWord { num, nth, first_word } => nth_paragraph_first_word(response, *num, *nth, first_word),
        NumberPlaceholders { num } => cached_regex!(r"\[.*?\]").find_iter(response).count() >= *num,
        Postscript { marker } => postscript(response, marker),
        NumberBulletLists { num } => bullets(response) == *num,
        ConstrainedResponse => {
            let r = response.trim();
            ["My answer is yes.", "My answer is no.", "My answer is maybe."].iter().any(|o| r.contains(o))
        }
        NumberHighlightedSections { num } => highlights(response) >= *num,
        MultipleSections { splitter, num } => {
            let re = Regex::new(&format!(r"\s?{}\s?\d+\s?", regex::escape(splitter))).expect("escaped splitter compiles");
            re.split(response).count() - 1 >= *num
        }
        JsonFormat => is_json(response),
        Title => cached_regex!(r"<<[^\n]+>>").find_iter(response).any(|m| !m.as_str().trim_start_matches('<').trim_end_matches('>').trim().is_empty()),
        TwoResponses => two_responses(response),
        RepeatPrompt { prompt_to_repeat, full_prompt } => {
            let r = response.trim().to_lowercase();
            r.starts_with(&prompt_to_repeat.trim().to_lowercase())
                && full_prompt.as_ref().is_none_or(|p| !r.starts_with(&p.trim().to_lowercase()))
        }
        EndChecker { end_phrase } => response.trim().trim_matches('"').to_lowercase().ends_with(&end_phrase.trim().to_lowercase()),
        CapitalWordFrequency { frequency, relation } => relation.holds(count_capital_words(response), *frequency),
        EnglishCapital => py_isupper(response) && lang::detect(response).is_none_or(|l| l == "en"),
        EnglishLowercase => py_islower(response) && lang::detect(response).is_none_or(|l| l == "en"),
        NoComma => !response.contains(','),
        Quotation => {
            let r = response.trim();
            r.chars().count() > 1 && r.starts_with('"') && r.ends_with('"')
        }
    }
}

/// Paragraphs separated by `***` (with one optional space around), or `None` where
/// an empty paragraph sits between two dividers (Google's check then fails).
pub fn star_paragraphs(response: &str) -> Option<usize> {
    let parts: Vec<&str> = cached_regex!(r"\s?\*\*\*\s?").split(response).collect();
    let last = parts.len() - 1;
    let mut n = parts.len();
    for (i, p) in parts.iter().enumerate() {
        if p.trim().is_empty() {
            if i == 0 || i == last {
                n -= 1;
            } else {
                return None;
            }
        }
    }
    Some(n)
}

fn nth_paragraph_first_word(response: &str, num: usize, nth: usize, first_word: &str) -> bool {
    let parts: Vec<&str> = response.split("\n\n").collect();
    let count = parts.iter().filter(|p| !p.trim().is_empty()).count();
    if nth == 0 || nth > count {
        return false;
    }
    let paragraph = parts[nth - 1].trim();
    let Some(word) = paragraph.split_whitespace().next() else {
        return false;
    };
    let word = word.trim_start_matches('\'').trim_start_matches('"');
    let found: String = word
        .chars()
        .take_while(|c| !matches!(c, '.' | ',' | '?' | '!' | '\'' | '"'))
        .flat_map(char::to_lowercase)
        .collect();
    count == num && found == first_word
}

fn postscript(response: &str, marker: &str) -> bool {
    let pattern = match marker {
        "P.P.S" => r"(?m)\s*p\.\s?p\.\s?s.*$".to_string(),
        "P.S." => r"(?m)\s*p\.\s?s\..*$".to_string(),
        m => format!(r"(?m)\s*{}.*$", regex::escape(&m.to_lowercase())),
    };
    Regex::new(&pattern).expect("postscript pattern compiles").is_match(&response.to_lowercase())
}

/// Markdown bullets: lines starting with `*` (not `**`) or `-`.
pub fn bullets(response: &str) -> usize {
    cached_regex!(r"(?m)^\s*\*[^\*].*$").find_iter(response).count() + cached_regex!(r"(?m)^\s*-.*$").find_iter(response).count()
}

/// Highlighted sections: each non-blank `*text*` and, again, each non-blank `**text**`.
pub fn highlights(response: &str) -> usize {
    let single = cached_regex!(r"\*[^\n\*]*\*").find_iter(response).filter(|m| !m.as_str().trim_matches('*').trim().is_empty());
    let double = cached_regex!(r"\*\*[^\n\*]*\*\*").find_iter(response).filter(|m| {
        let s = m.as_str();
        !s[2..s.len() - 2].trim().is_empty()
    });
    single.count() + double.count()
}

fn is_json(response: &str) -> bool {
    let mut v = response.trim();
    for prefix in ["```json", "```Json", "```JSON", "```"] {
        v = v.strip_prefix(prefix).unwrap_or(v);
    }
    let v = v.strip_suffix("```").unwrap_or(v).trim();
    serde_json::from_str::<serde_json::Value>(v).is_ok()
}

fn two_responses(response: &str) -> bool {
    let parts: Vec<&str> = response.split("******").collect();
    let last = parts.len() - 1;
    let mut valid = vec![];
    for (i, p) in parts.iter().enumerate() {
        if p.trim().is_empty() {
            if i != 0 && i != last {
                return false;
            }
        } else {
            valid.push(p.trim());
        }
    }
    valid.len() == 2 && valid[0] != valid[1]
}
