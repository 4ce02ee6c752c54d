//! The instruction registry: the 25 instruction types of Google's
//! `instructions_registry.INSTRUCTION_DICT`, each with its own parameters, parsed from
//! a prompt's `kwargs`. Both published prompt sets parse: `b7f22239` (the revised set)
//! and `29b60146` (the first set, whose `combination:repeat_prompt` has no arguments).
use serde_json::{Map, Value};

/// A count comparison: `less than` (actual < n) or `at least` (actual >= n).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    LessThan,
    AtLeast,
}

impl Relation {
    pub fn holds(self, actual: usize, n: usize) -> bool {
        match self {
            Relation::LessThan => actual < n,
            Relation::AtLeast => actual >= n,
        }
    }
}

/// The sentence that `combination:repeat_prompt` prompts end with; the request to
/// repeat is the prompt without it.
pub const REPEAT_DESCRIPTION: &str = "First repeat the request word for word without change, then give your answer (1. do not say any words or characters before repeating the request; 2. the request you need to repeat does not include this sentence)";

/// One verifiable instruction with its arguments.
#[derive(Debug, Clone, PartialEq)]
pub enum Instruction {
    /// `keywords:existence`: every keyword appears (case-insensitive).
    KeywordsExistence { keywords: Vec<String> },
    /// `keywords:frequency`: the keyword appears `relation` `frequency` times.
    KeywordFrequency { keyword: String, frequency: usize, relation: Relation },
    /// `keywords:forbidden_words`: none of the words appears as a whole word.
    ForbiddenWords { words: Vec<String> },
    /// `keywords:letter_frequency`: the character appears `relation` `frequency` times.
    LetterFrequency { letter: char, frequency: usize, relation: Relation },
    /// `language:response_language`: the whole response is in `language` (ISO 639-1).
    ResponseLanguage { language: String },
    /// `length_constraints:number_sentences`.
    NumberSentences { num: usize, relation: Relation },
    /// `length_constraints:number_paragraphs`: exactly `num` paragraphs split by `***`.
    NumberParagraphs { num: usize },
    /// `length_constraints:number_words`.
    NumberWords { num: usize, relation: Relation },
    /// `length_constraints:nth_paragraph_first_word`: `num` paragraphs split by blank
    /// lines, paragraph `nth` (from 1) starting with `first_word`.
    NthParagraphFirstWord { num: usize, nth: usize, first_word: String },
    /// `detectable_content:number_placeholders`: at least `num` `[...]` placeholders.
    NumberPlaceholders { num: usize },
    /// `detectable_content:postscript`: a line starting with the marker (`P.S.`, `P.P.S`).
    Postscript { marker: String },
    /// `detectable_format:number_bullet_lists`: exactly `num` markdown bullets.
    NumberBulletLists { num: usize },
    /// `detectable_format:constrained_response`: one of "My answer is yes/no/maybe.".
    ConstrainedResponse,
    /// `detectable_format:number_highlighted_sections`: at least `num` `*highlights*`.
    NumberHighlightedSections { num: usize },
    /// `detectable_format:multiple_sections`: at least `num` sections marked `splitter N`.
    MultipleSections { splitter: String, num: usize },
    /// `detectable_format:json_format`: the response (fences allowed) is JSON.
    JsonFormat,
    /// `detectable_format:title`: a title in `<<double angular brackets>>`.
    Title,
    /// `combination:two_responses`: two different responses separated by `******`.
    TwoResponses,
    /// `combination:repeat_prompt`: the response starts with the request. `full_prompt`
    /// is set for the first prompt set, whose check also rejects a response that
    /// repeats the instruction sentence along with the request.
    RepeatPrompt { prompt_to_repeat: String, full_prompt: Option<String> },
    /// `startend:end_checker`: the response ends with the phrase.
    EndChecker { end_phrase: String },
    /// `change_case:capital_word_frequency`: all-capital words appear `relation` `frequency` times.
    CapitalWordFrequency { frequency: usize, relation: Relation },
    /// `change_case:english_capital`: English, all capital letters.
    EnglishCapital,
    /// `change_case:english_lowercase`: English, all lowercase letters.
    EnglishLowercase,
    /// `punctuation:no_comma`.
    NoComma,
    /// `startend:quotation`: wrapped in double quotation marks.
    Quotation,
}

/// Every instruction id of the registry, in Google's order.
pub const INSTRUCTION_IDS: [&str; 25] = [
    "keywords:existence",
    "keywords:frequency",
    "keywords:forbidden_words",
    "keywords:letter_frequency",
    "language:response_language",
    "length_constraints:number_sentences",
    "length_constraints:number_paragraphs",
    "length_constraints:number_words",
    "length_constraints:nth_paragraph_first_word",
    "detectable_content:number_placeholders",
    "detectable_content:postscript",
    "detectable_format:number_bullet_lists",
    "detectable_format:constrained_response",
    "detectable_format:number_highlighted_sections",
    "detectable_format:multiple_sections",
    "detectable_format:json_format",
    "detectable_format:title",
    "combination:two_responses",
    "combination:repeat_prompt",
    "startend:end_checker",
    "change_case:capital_word_frequency",
    "change_case:english_capital",
    "change_case:english_lowercase",
    "punctuation:no_comma",
    "startend:quotation",
];

/// The arguments of one instruction; a `null` value counts as absent.
struct Kwargs<'a>(&'a Map<String, Value>);

impl Kwargs<'_> {
    fn get(&self, field: &str) -> Result<&Value, String> {
        match self.0.get(field) {
            Some(Value::Null) | None => Err(format!("missing kwargs field `{field}`")),
            Some(v) => Ok(v),
        }
    }
    fn string(&self, field: &str) -> Result<String, String> {
        match self.get(field)? {
            Value::String(s) => Ok(s.trim().to_string()),
            v => Err(format!("kwargs field `{field}`: expected a string, got {v}")),
        }
    }
    fn count(&self, field: &str) -> Result<usize, String> {
        let v = self.get(field)?;
        v.as_u64().map(|n| n as usize).ok_or_else(|| format!("kwargs field `{field}`: expected a non-negative integer, got {v}"))
    }
    fn strings(&self, field: &str) -> Result<Vec<String>, String> {
        match self.get(field)? {
            Value::Array(xs) if xs.iter().all(Value::is_string) => {
                Ok(xs.iter().filter_map(Value::as_str).map(str::to_string).collect())
            }
            v => Err(format!("kwargs field `{field}`: expected a list of strings, got {v}")),
        }
    }
    fn relation(&self, field: &str) -> Result<Relation, String> {
        match self.string(field)?.as_str() {
            "less than" => Ok(Relation::LessThan),
            "at least" => Ok(Relation::AtLeast),
            other => Err(format!("kwargs field `{field}`: relation must be \"less than\" or \"at least\", got {other:?}")),
        }
    }
    fn letter(&self, field: &str) -> Result<char, String> {
        let s = self.string(field)?.to_lowercase();
        let mut cs = s.chars();
        match (cs.next(), cs.next()) {
            (Some(c), None) => Ok(c),
            _ => Err(format!("kwargs field `{field}`: expected one character, got {s:?}")),
        }
    }
}

impl Instruction {
    /// Builds the instruction `id` from its `kwargs` (and, for `repeat_prompt` in the
    /// first prompt set, the prompt). The error names the offending field.
    pub fn parse(id: &str, kwargs: &Map<String, Value>, prompt: &str) -> Result<Self, String> {
        use Instruction::*;
        let k = Kwargs(kwargs);
        Ok(match id {
            "keywords:existence" => KeywordsExistence { keywords: k.strings("keywords")? },
            "keywords:frequency" => {
                KeywordFrequency { keyword: k.string("keyword")?, frequency: k.count("frequency")?, relation: k.relation("relation")? }
            }
            "keywords:forbidden_words" => ForbiddenWords { words: k.strings("forbidden_words")? },
            "keywords:letter_frequency" => LetterFrequency {
                letter: k.letter("letter")?,
                frequency: k.count("let_frequency")?,
                relation: k.relation("let_relation")?,
            },
            "language:response_language" => ResponseLanguage { language: k.string("language")? },
            "length_constraints:number_sentences" => NumberSentences { num: k.count("num_sentences")?, relation: k.relation("relation")? },
            "length_constraints:number_paragraphs" => NumberParagraphs { num: k.count("num_paragraphs")? },
            "length_constraints:number_words" => NumberWords { num: k.count("num_words")?, relation: k.relation("relation")? },
            "length_constraints:nth_paragraph_first_word" => NthParagraphFirstWord {
                num: k.count("num_paragraphs")?,
                nth: k.count("nth_paragraph")?,
                first_word: k.string("first_word")?.to_lowercase(),
            },
            "detectable_content:number_placeholders" => NumberPlaceholders { num: k.count("num_placeholders")? },
            "detectable_content:postscript" => Postscript { marker: k.string("postscript_marker")? },
            "detectable_format:number_bullet_lists" => NumberBulletLists { num: k.count("num_bullets")? },
            "detectable_format:constrained_response" => ConstrainedResponse,
            "detectable_format:number_highlighted_sections" => NumberHighlightedSections { num: k.count("num_highlights")? },
            "detectable_format:multiple_sections" => {
                MultipleSections { splitter: k.string("section_spliter")?, num: k.count("num_sections")? }
            }
            "detectable_format:json_format" => JsonFormat,
            "detectable_format:title" => Title,
            "combination:two_responses" => TwoResponses,
            "combination:repeat_prompt" => match k.get("prompt_to_repeat") {
                Ok(_) => RepeatPrompt { prompt_to_repeat: k.string("prompt_to_repeat")?, full_prompt: None },
                Err(_) => RepeatPrompt {
                    prompt_to_repeat: prompt.strip_suffix(REPEAT_DESCRIPTION).unwrap_or(prompt).trim().to_string(),
                    full_prompt: Some(prompt.to_string()),
                },
            },
            "startend:end_checker" => EndChecker { end_phrase: k.string("end_phrase")? },
            "change_case:capital_word_frequency" => {
                CapitalWordFrequency { frequency: k.count("capital_frequency")?, relation: k.relation("capital_relation")? }
            }
            "change_case:english_capital" => EnglishCapital,
            "change_case:english_lowercase" => EnglishLowercase,
            "punctuation:no_comma" => NoComma,
            "startend:quotation" => Quotation,
            other => return Err(format!("unknown instruction id {other:?}")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(id: &str, kw: Value) -> Result<Instruction, String> {
        Instruction::parse(id, kw.as_object().unwrap(), "prompt")
    }

    #[test]
    fn parses_arguments_and_names_bad_fields() {
        assert_eq!(
            parse("keywords:letter_frequency", json!({"letter": "Q", "let_frequency": 3, "let_relation": "at least"})),
            Ok(Instruction::LetterFrequency { letter: 'q', frequency: 3, relation: Relation::AtLeast })
        );
        let e = parse("length_constraints:number_words", json!({"num_words": 300, "relation": "at most"})).unwrap_err();
        assert!(e.contains("`relation`") && e.contains("at most"), "{e}");
        let e = parse("length_constraints:number_words", json!({"num_words": null, "relation": "at least"})).unwrap_err();
        assert!(e.contains("missing kwargs field `num_words`"), "{e}");
        assert!(parse("detectable_format:number_bullet_lists", json!({"num_bullets": "3"})).unwrap_err().contains("num_bullets"));
        assert!(parse("no:such", json!({})).unwrap_err().contains("no:such"));
    }

    #[test]
    fn repeat_prompt_from_either_prompt_set() {
        let prompt = format!("Write a poem.\n{REPEAT_DESCRIPTION}");
        let old = Instruction::parse("combination:repeat_prompt", &Map::new(), &prompt).unwrap();
        assert_eq!(old, Instruction::RepeatPrompt { prompt_to_repeat: "Write a poem.".into(), full_prompt: Some(prompt.clone()) });
        let kw = json!({"prompt_to_repeat": "Write a poem."});
        let new = Instruction::parse("combination:repeat_prompt", kw.as_object().unwrap(), &prompt).unwrap();
        assert_eq!(new, Instruction::RepeatPrompt { prompt_to_repeat: "Write a poem.".into(), full_prompt: None });
    }

    #[test]
    fn every_registry_id_parses_with_its_arguments() {
        let kw = json!({"keywords": ["a"], "keyword": "a", "frequency": 1, "relation": "at least", "forbidden_words": ["b"],
            "letter": "c", "let_frequency": 1, "let_relation": "less than", "language": "en", "num_sentences": 1,
            "num_paragraphs": 2, "num_words": 1, "nth_paragraph": 1, "first_word": "x", "num_placeholders": 1,
            "postscript_marker": "P.S.", "num_bullets": 1, "num_highlights": 1, "section_spliter": "Section", "num_sections": 1,
            "prompt_to_repeat": "p", "end_phrase": "e", "capital_frequency": 1, "capital_relation": "at least"});
        for id in INSTRUCTION_IDS {
            assert!(parse(id, kw.clone()).is_ok(), "{id}");
        }
    }
}
