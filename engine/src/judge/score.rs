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
    let lower = text.to_lowercase();
    let at = lower.rfind("score:").or_else(|| lower.rfind("score**:")).ok_or(ScoreError::Missing)?;
    let rest = &text[at..];
    let rest = &rest[rest.find(':').map_or(0, |i| i + 1)..];
    let rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '*' || c == '_' || c == '`');
    let num: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    let num = num.trim_end_matches('.');
    if num.is_empty() {
        let token: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
        return Err(ScoreError::NotNumeric(token));
    }
    let value: f64 = num.parse().map_err(|_| ScoreError::NotNumeric(num.to_string()))?;
    // "4/5": the denominator must be the scale's maximum.
    let after = rest[num.len()..].trim_start();
    if let Some(den) = after.strip_prefix('/') {
        let den: String = den.trim_start().chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
        let d: f64 = den.parse().map_err(|_| ScoreError::NotNumeric(format!("{num}/{den}")))?;
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
    let lower = text.to_lowercase();
    let at = lower.rfind("preferred:").ok_or(ScoreError::Missing)?;
    let rest = text[at + "preferred:".len()..].trim_start_matches(|c: char| c.is_whitespace() || c == '*');
    match rest.chars().next().map(|c| c.to_ascii_uppercase()) {
        Some('A') => Ok(true),
        Some('B') => Ok(false),
        _ => Err(ScoreError::NotNumeric(rest.chars().take(8).collect())),
    }
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

    #[test]
    fn pairwise_preferences() {
        assert_eq!(parse_preference("B is shorter. Preferred: A"), Ok(true));
        assert_eq!(parse_preference("**Preferred:** B"), Ok(false));
        assert!(parse_preference("A or B").is_err());
    }
}
