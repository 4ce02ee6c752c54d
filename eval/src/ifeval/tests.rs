//! One positive and one negative example per instruction type, and the counting edge
//! cases (relations, bullets, highlights, `***` paragraphs, loose variants).
use super::checks::{bullets, check, highlights, star_paragraphs};
use super::registry::{Instruction::*, Relation::*, REPEAT_DESCRIPTION};
use super::score::{follows, loose_variants, Mode};

fn s(x: &str) -> String {
    x.to_string()
}

#[test]
fn keywords() {
    let ins = KeywordsExistence { keywords: vec![s("Tokyo"), s("ramen")] };
    assert!(check(&ins, "In TOKYO we ate Ramen."));
    assert!(!check(&ins, "In Tokyo we ate sushi."));
    let ins = KeywordFrequency { keyword: s("cat"), frequency: 3, relation: AtLeast };
    assert!(check(&ins, "cat Cat CAT"));
    assert!(!check(&ins, "cat cat"));
    let ins = KeywordFrequency { keyword: s("cat"), frequency: 3, relation: LessThan };
    assert!(check(&ins, "cat cat"));
    assert!(!check(&ins, "cat cat cat"), "less than 3 fails at exactly 3");
    let ins = ForbiddenWords { words: vec![s("bad")] };
    assert!(check(&ins, "A badge and a badminton racket."), "whole words only");
    assert!(!check(&ins, "That was BAD."));
    assert!(!check(&ins, "It is bad-tempered."), "a hyphen ends a word");
}

#[test]
fn letter_frequency_counts_the_character_given() {
    let ins = LetterFrequency { letter: 'z', frequency: 2, relation: AtLeast };
    assert!(check(&ins, "Zig zag"));
    assert!(!check(&ins, "Zig"));
    // Keys 1122 / 1129 of the revised set ask for `#` and `!`: counted literally.
    let ins = LetterFrequency { letter: '#', frequency: 2, relation: LessThan };
    assert!(check(&ins, "# one heading"));
    assert!(!check(&ins, "# one\n# two"));
}

#[test]
fn language_and_case() {
    let en = "The quick brown fox jumps over the lazy dog near the river bank.";
    assert!(check(&ResponseLanguage { language: s("en") }, en));
    assert!(!check(&ResponseLanguage { language: s("de") }, en));
    assert!(check(&ResponseLanguage { language: s("de") }, "Der schnelle braune Fuchs springt über den faulen Hund am Fluss."));
    assert!(check(&EnglishCapital, &en.to_uppercase()));
    assert!(!check(&EnglishCapital, en));
    assert!(check(&EnglishLowercase, &en.to_lowercase()));
    assert!(!check(&EnglishLowercase, en));
    let ins = CapitalWordFrequency { frequency: 2, relation: AtLeast };
    assert!(check(&ins, "NASA and the ESA agreed."));
    assert!(!check(&ins, "Nasa and the ESA agreed."));
    assert!(check(&CapitalWordFrequency { frequency: 2, relation: LessThan }, "Only ONE here."));
}

#[test]
fn sentences_and_words_with_both_relations() {
    let text = "One here. Two here. Three here.";
    assert!(check(&NumberSentences { num: 3, relation: AtLeast }, text));
    assert!(!check(&NumberSentences { num: 4, relation: AtLeast }, text));
    assert!(check(&NumberSentences { num: 4, relation: LessThan }, text));
    assert!(!check(&NumberSentences { num: 3, relation: LessThan }, text), "less than 3 fails at exactly 3");
    assert!(check(&NumberWords { num: 6, relation: AtLeast }, text));
    assert!(!check(&NumberWords { num: 7, relation: AtLeast }, text));
    assert!(check(&NumberWords { num: 7, relation: LessThan }, text));
    assert!(!check(&NumberWords { num: 6, relation: LessThan }, text));
}

#[test]
fn paragraphs_split_by_three_stars() {
    assert_eq!(star_paragraphs("one\n***\ntwo\n***\nthree"), Some(3));
    assert_eq!(star_paragraphs("***\none\n***\ntwo\n***"), Some(2), "empty ends do not count");
    assert_eq!(star_paragraphs("one\n***\n\n***\ntwo"), None, "an empty middle paragraph fails");
    assert!(check(&NumberParagraphs { num: 2 }, "one ***two"));
    assert!(!check(&NumberParagraphs { num: 2 }, "one\n\ntwo"));
    let ins = NthParagraphFirstWord { num: 2, nth: 2, first_word: s("second") };
    assert!(check(&ins, "First para.\n\n\"Second,\" it said."));
    assert!(!check(&ins, "First para.\n\nThird para."));
    assert!(!check(&ins, "First para.\n\nSecond para.\n\nThird."), "three paragraphs, not two");
}

#[test]
fn bullets_star_and_dash() {
    assert_eq!(bullets("* one\n* two\n- three"), 3);
    assert_eq!(bullets("** bold line\n*not a list?*"), 1, "`**` is not a bullet, `*n` is");
    assert_eq!(bullets("  - indented\ntext - dash inside"), 1);
    assert!(check(&NumberBulletLists { num: 2 }, "* a\n- b"));
    assert!(!check(&NumberBulletLists { num: 2 }, "* a\n- b\n* c"));
}

#[test]
fn highlighted_sections() {
    assert_eq!(highlights("*one* and *two*"), 2);
    assert_eq!(highlights("**bold**"), 1, "`**` pairs are empty single highlights; the double one counts");
    assert_eq!(highlights("* * and *\nnot*"), 0, "blank or multi-line");
    assert!(check(&NumberHighlightedSections { num: 2 }, "*a* b *c*"));
    assert!(!check(&NumberHighlightedSections { num: 2 }, "*a* b"));
}

#[test]
fn content_and_format() {
    assert!(check(&NumberPlaceholders { num: 2 }, "Dear [name], at [address]."));
    assert!(!check(&NumberPlaceholders { num: 2 }, "Dear [name]."));
    assert!(check(&Postscript { marker: s("P.S.") }, "Hi.\n\nP.S. see you"));
    assert!(check(&Postscript { marker: s("P.P.S") }, "Hi.\np. p. s more"));
    assert!(!check(&Postscript { marker: s("P.S.") }, "Hi. PS see you"));
    assert!(check(&ConstrainedResponse, "I think... My answer is maybe."));
    assert!(!check(&ConstrainedResponse, "My answer is perhaps."));
    let sections = MultipleSections { splitter: s("SECTION"), num: 2 };
    assert!(check(&sections, "SECTION 1\nfoo\nSECTION 2\nbar"));
    assert!(!check(&sections, "SECTION 1\nfoo\nSection 2\nbar"));
    assert!(check(&JsonFormat, "```json\n{\"a\": [1, 2]}\n```"));
    assert!(!check(&JsonFormat, "Here: {\"a\": 1}"));
    assert!(check(&Title, "<<My Poem>>\nroses"));
    assert!(!check(&Title, "<< >> and <<\nbroken>>"));
}

#[test]
fn combinations_start_and_end() {
    assert!(check(&TwoResponses, "Answer one.\n******\nAnswer two."));
    assert!(!check(&TwoResponses, "Same.\n******\nSame."));
    assert!(!check(&TwoResponses, "a ****** ****** b"));
    let new = RepeatPrompt { prompt_to_repeat: s("Write a poem."), full_prompt: None };
    assert!(check(&new, "write a POEM. Roses are red."));
    assert!(!check(&new, "Sure! Write a poem."));
    let full = format!("Write a poem.\n{REPEAT_DESCRIPTION}");
    let old = RepeatPrompt { prompt_to_repeat: s("Write a poem."), full_prompt: Some(full.clone()) };
    assert!(check(&old, "Write a poem. Roses are red."));
    assert!(!check(&old, &format!("{full} Roses are red.")), "repeating the instruction sentence too fails");
    let end = EndChecker { end_phrase: s("Any other questions?") };
    assert!(check(&end, "Done. any other questions?\"  "));
    assert!(!check(&end, "Any other questions? Bye."));
    assert!(check(&NoComma, "No commas here."));
    assert!(!check(&NoComma, "One, two."));
    assert!(check(&Quotation, "  \"wrapped\"\n"));
    assert!(!check(&Quotation, "\""));
}

#[test]
fn loose_drops_first_and_last_lines_and_stars() {
    let v = loose_variants("Sure!\n*a* b\nBye");
    assert_eq!(v.len(), 8);
    assert_eq!(v[2], "*a* b\nBye");
    assert_eq!(v[3], "Sure!\n*a* b");
    assert_eq!(v[4], "*a* b");
    assert_eq!(v[7], "a b");
    let quoted = "Here you go:\n\"All wrapped\"";
    assert!(!follows(&Quotation, quoted, Mode::Strict));
    assert!(follows(&Quotation, quoted, Mode::Loose));
    assert!(!follows(&NoComma, "   ", Mode::Strict), "a blank response follows nothing");
}
