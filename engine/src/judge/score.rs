//! Reading a judge's verdict: the last `Score: N` in its text, or a typed failure.

/// Why no score could be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum ScoreError {
    #[error("no `Score:` in the judgment")]
    Missing,
    #[error("`Score:` is followed by `{0}`, not a number")]
    NotNumeric(String),
    #[error("score {0} is outside 0..={1}")]
    OutOfRange(f64, f64),
}

/// Parses the last `Score: N` of `text` (case-insensitive; markdown such as
/// `**Score:** 4` and forms `4/5` and `4.5` accepted) into a value in `0..=max`.
pub fn parse_score(text: &str, max: f64) -> Result<f64, ScoreError> {
    let at = rfind_ascii_ci(text, "score:").or_else(|| rfind_ascii_ci(text, "score**:")).ok_or(ScoreError::Missing)?;
    let rest = &text[at..];
    let rest = &rest[rest.find(':').map_or(0, |i| i + 1)..];
    let rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '*' || c == '_' || c == '`');
    let num: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    let num = num.trim_end_matches('.');
    if num.is_empty() {
        let token: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
        return Err(ScoreError::NotNumeric(token));
    }
    let value: f64 = num.parse().ok().filter(|v: &f64| v.is_finite()).ok_or_else(|| ScoreError::NotNumeric(num.to_string()))?;
    // "4/5": the denominator must be the scale's maximum.
    let after = rest[num.len()..].trim_start();
    if let Some(den) = after.strip_prefix('/') {
        let den: String = den.trim_start().chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
        let d: f64 = den.parse().ok().filter(|d: &f64| d.is_finite()).ok_or_else(|| ScoreError::NotNumeric(format!("{num}/{den}")))?;
        if d <= 0.0 || value > d {
            return Err(ScoreError::OutOfRange(value, d));
        }
        return Ok(value / d * max);
    }
    if !(0.0..=max).contains(&value) {
        return Err(ScoreError::OutOfRange(value, max));
    }
    Ok(value)
}

/// Parses the last `Preferred: A|B` of a pairwise judgment; `true` means A.
pub fn parse_preference(text: &str) -> Result<bool, ScoreError> {
    let at = rfind_ascii_ci(text, "preferred:").ok_or(ScoreError::Missing)?;
    let rest = text[at + "preferred:".len()..].trim_start_matches(|c: char| c.is_whitespace() || c == '*');
    match rest.chars().next().map(|c| c.to_ascii_uppercase()) {
        Some('A') => Ok(true),
        Some('B') => Ok(false),
        _ => Err(ScoreError::NotNumeric(rest.chars().take(8).collect())),
    }
}

/// Byte offset of the last ASCII-case-insensitive occurrence of the ASCII `needle` in
/// `text`. Offsets are the original text's own (a lower-cased copy can have other byte
/// lengths, e.g. the Kelvin sign), and always on a character boundary (ASCII bytes never
/// occur inside a multi-byte character).
fn rfind_ascii_ci(text: &str, needle: &str) -> Option<usize> {
    let (h, n) = (text.as_bytes(), needle.as_bytes());
    (0..=h.len().checked_sub(n.len())?).rev().find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_score_wins_in_any_common_form() {
        assert_eq!(parse_score("Relevant, exact. Score: 5", 5.0), Ok(5.0));
        assert_eq!(parse_score("Score: 2 at first... on reflection Score: 4", 5.0), Ok(4.0));
        assert_eq!(parse_score("**Score:** 3", 5.0), Ok(3.0));
        assert_eq!(parse_score("**Score: 3**", 5.0), Ok(3.0));
        assert_eq!(parse_score("score: 4/5.", 5.0), Ok(4.0));
        assert_eq!(parse_score("Score: 4.5", 5.0), Ok(4.5));
        assert_eq!(parse_score("Total Score:\n  2.", 5.0), Ok(2.0));
        assert_eq!(parse_score("Score: 8/10", 5.0), Ok(4.0));
    }

    #[test]
    fn failures_are_typed_never_numbers() {
        assert_eq!(parse_score("Looks fine to me.", 5.0), Err(ScoreError::Missing));
        assert_eq!(parse_score("Score: high", 5.0), Err(ScoreError::NotNumeric("high".into())));
        assert_eq!(parse_score("Score: 7", 5.0), Err(ScoreError::OutOfRange(7.0, 5.0)));
        assert_eq!(parse_score("Score: 6/5", 5.0), Err(ScoreError::OutOfRange(6.0, 5.0)));
        assert_eq!(parse_score("Score:", 5.0), Err(ScoreError::NotNumeric("".into())));
    }

    /// Characters whose lower case has another byte length before the verdict (the Kelvin
    /// sign, 3 bytes, lower-cases to `k`, 1 byte) once made the parsers slice off a boundary.
    #[test]
    fn offsets_are_the_original_texts() {
        assert_eq!(parse_score("\u{212A} Score: 4", 5.0), Ok(4.0));
        assert_eq!(parse_score("\u{212A}\u{212A}\u{212A} SCORE: 2/5", 5.0), Ok(2.0));
        assert_eq!(parse_preference("\u{212A}\u{212A} Preferred: b"), Ok(false));
        assert_eq!(parse_preference("İİ preferred: A"), Ok(true));
        assert_eq!(parse_score("\u{212A}", 5.0), Err(ScoreError::Missing));
    }

    /// Found by `make fuzz` (judge_verdicts): numbers too long for f64 read as infinity,
    /// and infinity / infinity made a NaN score.
    #[test]
    fn numbers_beyond_f64_are_not_scores() {
        let huge = "9".repeat(400);
        assert_eq!(parse_score(&format!("Score: {huge}/{huge}"), 5.0), Err(ScoreError::NotNumeric(huge.clone())));
        assert_eq!(parse_score(&format!("Score: 1/{huge}"), 5.0), Err(ScoreError::NotNumeric(format!("1/{huge}"))));
        assert_eq!(parse_score(&format!("Score: {huge}"), 5.0), Err(ScoreError::NotNumeric(huge)));
    }

    #[test]
    fn pairwise_preferences() {
        assert_eq!(parse_preference("B is shorter. Preferred: A"), Ok(true));
        assert_eq!(parse_preference("**Preferred:** B"), Ok(false));
        assert!(parse_preference("A or B").is_err());
    }
}
