//! Text primitives with the semantics of the Python calls Google's checks make:
//! `str.isupper()` / `str.islower()`, NLTK's `RegexpTokenizer(r"\w+")` word count,
//! and `nltk.word_tokenize` (Punkt sentences, then the NLTK word tokenizer's
//! substitution rules) for counting all-capital words.
use super::punkt;
use fancy_regex::Regex as FancyRegex;
use regex::Regex;
use std::sync::OnceLock;

/// Python's `str.isupper()`: at least one cased character and no lowercase one.
/// (Titlecase letters, which Python also rejects, are treated as uppercase.)
pub fn py_isupper(s: &str) -> bool {
    s.chars().any(char::is_uppercase) && !s.chars().any(char::is_lowercase)
}

/// Python's `str.islower()`: at least one cased character and no uppercase one.
pub fn py_islower(s: &str) -> bool {
    s.chars().any(char::is_lowercase) && !s.chars().any(char::is_uppercase)
}

/// Words as NLTK's `RegexpTokenizer(r"\w+")` finds them. Python's `\w` is a letter
/// (`L*`), a number (`N*`) or `_`; combining marks are not word characters there
/// (unlike Rust's `\w`), which matters for Devanagari and other abugidas.
pub fn count_words(text: &str) -> usize {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"[\p{L}\p{N}_]+").expect("word regex")).find_iter(text).count()
}

/// One substitution of the NLTK word tokenizer: pattern and replacement.
struct Rule(FancyRegex, &'static str);

fn rules(list: &[(&str, &'static str)]) -> Vec<Rule> {
    list.iter().map(|(p, r)| Rule(FancyRegex::new(p).expect("nltk tokenizer rule"), r)).collect()
}

struct WordTokenizer {
    starting_quotes: Vec<Rule>,
    punctuation: Vec<Rule>,
    ending_quotes: Vec<Rule>,
    contractions: Vec<Rule>,
}

fn tokenizer() -> &'static WordTokenizer {
    static T: OnceLock<WordTokenizer> = OnceLock::new();
    T.get_or_init(|| WordTokenizer {
        starting_quotes: rules(&[
            ("([«“‘„]|[`]+)", " $1 "),
            (r#"^""#, "``"),
            ("(``)", " $1 "),
            (r#"([ \(\[{<])("|'{2})"#, "$1 `` "),
            (r"(?i)(?<!\w)(')(?!(?:re|ve|ll|m|t|s|d|n)\b)(?=\w)", "$1 "),
        ]),
        punctuation: rules(&[
            (r#"([^\.])(\.)([\]\)}>"'»”’ ]*+)\s*$"#, "$1 $2 $3 "),
            (r"([:,])([^\d])", " $1 $2"),
            (r"([:,])$", " $1 "),
            (r"\.{2,}", " $0 "),
            (r"[;@#$%&]", " $0 "),
            (r"[\u2012-\u2015]", " $0 "),
            (r#"([^\.])(\.)([\]\)}>"']*)\s*$"#, "$1 $2$3 "),
            (r"[?!]", " $0 "),
            (r"([^'])' ", "$1 ' "),
            (r"[*]", " $0 "),
            (r"[\]\[\(\)\{\}<>]", " $0 "),
            (r"--", " -- "),
        ]),
        ending_quotes: rules(&[
            ("([»”’])", " $1 "),
            ("''", " '' "),
            ("\"", " '' "),
            (r"\s+", " "),
            (r"([^' ])('[sS]|'[mM]|'[dD]|') ", "$1 $2 "),
            (r"([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) ", "$1 $2 "),
        ]),
        contractions: rules(&[
            (r"(?i)\b(can)(not)\b", " $1 $2 "),
            (r"(?i)\b(d)('ye)\b", " $1 $2 "),
            (r"(?i)\b(gim)(me)\b", " $1 $2 "),
            (r"(?i)\b(gon)(na)\b", " $1 $2 "),
            (r"(?i)\b(got)(ta)\b", " $1 $2 "),
            (r"(?i)\b(lem)(me)\b", " $1 $2 "),
            (r"(?i)\b(more)('n)\b", " $1 $2 "),
            (r"(?i)\b(wan)(na)(?=\s)", " $1 $2 "),
            (r"(?i) ('t)(is)\b", " $1 $2 "),
            (r"(?i) ('t)(was)\b", " $1 $2 "),
        ]),
    })
}

fn apply(rules: &[Rule], mut text: String) -> String {
    for Rule(re, rep) in rules {
        if let Ok(s) = re.try_replacen(&text, 0, *rep) {
            text = s.into_owned();
        }
    }
    text
}

/// NLTK's `NLTKWordTokenizer.tokenize` on one sentence.
fn tokenize_sentence(sentence: &str) -> Vec<String> {
    let t = tokenizer();
    let text = apply(&t.starting_quotes, sentence.to_string());
    let text = apply(&t.punctuation, text);
    let text = apply(&t.ending_quotes, format!(" {text} "));
    let text = apply(&t.contractions, text);
    text.split_whitespace().map(str::to_string).collect()
}

/// `nltk.word_tokenize(text)`: Punkt sentences, each tokenized.
pub fn word_tokenize(text: &str) -> Vec<String> {
    punkt::sentence_spans(text).into_iter().flat_map(|(a, b)| tokenize_sentence(&text[a..b])).collect()
}

/// Words whose cased letters are all capitals, as Google's `capital_word_frequency`
/// counts them.
pub fn count_capital_words(text: &str) -> usize {
    word_tokenize(text).iter().filter(|w| py_isupper(w)).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_case_predicates() {
        assert!(py_isupper("HELLO, WORLD 2"));
        assert!(!py_isupper("HELLo"));
        assert!(!py_isupper("123 ..."));
        assert!(py_islower("hello, world"));
        assert!(!py_islower("Hello"));
    }

    #[test]
    fn words_like_nltk_regexp_tokenizer() {
        assert_eq!(count_words("Hello, world! It's 2023_x."), 5);
        assert_eq!(count_words(""), 0);
    }

    #[test]
    fn word_tokenizer_splits_contractions_and_punctuation() {
        assert_eq!(word_tokenize("I can't go, DON'T ask."), ["I", "ca", "n't", "go", ",", "DO", "N'T", "ask", "."]);
        assert_eq!(word_tokenize("\"AI\" (NASA) cannot"), ["``", "AI", "''", "(", "NASA", ")", "can", "not"]);
        // "I", "DO", "N'T", "NASA" are all capitals; "U.S." too.
        assert_eq!(count_capital_words("I DON'T like NASA in the U.S. today."), 5);
    }
}
