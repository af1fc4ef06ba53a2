//! Full-text search: what a query means, and the passage shown for a result.
//!
//! A query is a list of words. Only runs of letters and digits count, three or more
//! characters long (MariaDB's shortest indexed word), lowercased; every other character is
//! a separator, so operators, quotes and `*` cannot reach a search engine's syntax. Every
//! word must match a word of the ticket, or its start ("refund" finds "refunds").

/// The longest query, in bytes.
pub const MAX_QUERY_BYTES: usize = 1024;
/// The most words of a query that are searched for.
pub const MAX_TERMS: usize = 16;
/// The shortest word searched for, in characters.
pub const MIN_TERM_CHARS: usize = 3;
/// The longest word an index holds (MariaDB's `innodb_ft_max_token_size`): a longer
/// word of a query matches nothing.
pub const MAX_TERM_CHARS: usize = 84;
/// Words too common to search for (InnoDB's default stopwords of three or more letters),
/// dropped from queries so both backends answer alike.
const STOPWORDS: &[&str] = &[
    "about", "are", "com", "for", "from", "how", "that", "the", "this", "und", "was", "what", "when", "where", "who",
    "will", "with", "www",
];
/// The longest passage of a snippet, in characters.
const SNIPPET_CHARS: usize = 160;
/// Characters of context before the first match.
const LEAD_CHARS: usize = 40;

/// The words of a query, or why it has none.
pub fn terms(query: &str) -> Result<Vec<String>, String> {
    if query.trim().is_empty() {
        return Err("is required: the words to look for".into());
    }
    if query.len() > MAX_QUERY_BYTES {
        return Err(format!("is {} bytes long; at most {MAX_QUERY_BYTES}", query.len()));
    }
    let terms = words_of(query, MAX_TERMS);
    if terms.is_empty() {
        return Err(format!(
            "has no word of {MIN_TERM_CHARS} or more letters or digits to look for (common words such as \"the\" are not searched)"
        ));
    }
    Ok(terms)
}

/// The distinct searchable words of `text`, lower-cased, in order, at most `max` of them.
fn words_of(text: &str, max: usize) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    for word in text.split(|c: char| !c.is_alphanumeric()) {
        if terms.len() == max {
            break;
        }
        let word = word.to_lowercase();
        if word.chars().count() >= MIN_TERM_CHARS && !STOPWORDS.contains(&word.as_str()) && !terms.contains(&word) {
            terms.push(word);
        }
    }
    terms
}

/// The words that describe a text for finding similar ones (a ticket's subject and
/// description): its first [`MAX_TERMS`] searchable words short enough to be indexed.
pub fn similarity_terms(text: &str) -> Vec<String> {
    let indexable = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() <= MAX_TERM_CHARS)
        .collect::<Vec<_>>()
        .join(" ");
    words_of(&indexable, MAX_TERMS)
}

/// A passage of a result where its words matched, and where in it (in characters).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snippet {
    /// At most about 160 characters, with `…` where it was cut.
    pub text: String,
    /// `[start, end)` of each matching word in `text`, in characters (code points).
    pub highlights: Vec<(usize, usize)>,
}

/// The words of `text` with their character ranges.
fn words(text: &[char]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.iter().enumerate() {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, text.len()));
    }
    out
}

fn matches(word: &[char], terms: &[String]) -> bool {
    let word: String = word.iter().collect::<String>().to_lowercase();
    terms.iter().any(|t| word.starts_with(t.as_str()))
}

/// The passage of the first of `texts` (in the order given: subject and description,
/// then messages) that holds one of `terms`, around its first match; the start of the
/// first text if none does (the search engine matched on a form these rules do not).
pub fn snippet(texts: &[&str], terms: &[String]) -> Snippet {
    for text in texts {
        let chars: Vec<char> = text.chars().collect();
        let found = words(&chars).into_iter().find(|&(s, e)| matches(&chars[s..e], terms));
        if let Some((first, _)) = found {
            return passage(&chars, first.saturating_sub(LEAD_CHARS), terms);
        }
    }
    let chars: Vec<char> = texts.first().map(|t| t.chars().collect()).unwrap_or_default();
    passage(&chars, 0, terms)
}

/// Up to [`SNIPPET_CHARS`] of `chars` from about `from` (moved to a word's start), with
/// its matching words marked.
fn passage(chars: &[char], from: usize, terms: &[String]) -> Snippet {
    let mut start = from.min(chars.len());
    while start > 0 && start < chars.len() && chars[start - 1].is_alphanumeric() {
        start += 1;
    }
    let mut end = (start + SNIPPET_CHARS).min(chars.len());
    while end < chars.len() && end > start && chars[end - 1].is_alphanumeric() && chars[end].is_alphanumeric() {
        end -= 1;
    }
    let body: Vec<char> = chars[start..end].iter().map(|&c| if c.is_whitespace() { ' ' } else { c }).collect();
    let lead = usize::from(start > 0);
    let mut text = String::new();
    if start > 0 {
        text.push('…');
    }
    text.extend(body.iter());
    if end < chars.len() {
        text.push('…');
    }
    let highlights = words(&body)
        .into_iter()
        .filter(|&(s, e)| matches(&body[s..e], terms))
        .map(|(s, e)| (s + lead, e + lead))
        .collect();
    Snippet { text, highlights }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_is_its_words_of_three_or_more_characters() {
        assert_eq!(
            terms("Refund NOT \"arrived\" +card* -x OR (a|b)").unwrap(),
            vec!["refund", "not", "arrived", "card"]
        );
        assert_eq!(terms("Überweisung fehlt").unwrap(), vec!["überweisung", "fehlt"]);
        assert_eq!(terms("refund REFUND refund").unwrap(), vec!["refund"]);
        assert_eq!(terms("where is the refund").unwrap(), vec!["refund"], "common words are dropped");
        assert!(terms("the what for").unwrap_err().contains("common words"));
    }

    #[test]
    fn queries_without_words_or_too_long_are_refused() {
        assert!(terms("").unwrap_err().contains("required"));
        assert!(terms("   ").unwrap_err().contains("required"));
        assert!(terms("* \"\" + - ()").unwrap_err().contains("no word"));
        assert!(terms("a b c de").unwrap_err().contains("no word"));
        assert!(terms(&"word ".repeat(205)).unwrap_err().contains("at most 1024"));
        assert_eq!(terms(&"alpha beta gamma delta ".repeat(10)).unwrap().len(), 4);
        let many: String = (0..40).map(|i| format!("word{i:02} ")).collect();
        assert_eq!(terms(&many).unwrap().len(), MAX_TERMS);
    }

    #[test]
    fn the_snippet_is_the_first_match_with_its_words_marked() {
        let terms = terms("refund card").unwrap();
        let s = snippet(&["Printer broken", "Please refund my card, the refunds page fails."], &terms);
        assert_eq!(s.text, "Please refund my card, the refunds page fails.");
        let marked: Vec<String> =
            s.highlights.iter().map(|&(a, b)| s.text.chars().skip(a).take(b - a).collect()).collect();
        assert_eq!(marked, vec!["refund", "card", "refunds"]);
    }

    #[test]
    fn a_long_text_is_cut_around_the_match_at_word_boundaries() {
        let text = format!("{} the refund is missing {}", "lorem ipsum ".repeat(30), "dolor sit ".repeat(30));
        let s = snippet(&[&text], &terms("refund").unwrap());
        assert!(s.text.starts_with('…') && s.text.ends_with('…'), "{}", s.text);
        assert!(s.text.chars().count() <= SNIPPET_CHARS + 2);
        let (a, b) = s.highlights[0];
        assert_eq!(s.text.chars().skip(a).take(b - a).collect::<String>(), "refund");
        // Whole words only at both ends.
        let inner: String = s.text.trim_matches('…').to_owned();
        for w in inner.split(' ').filter(|w| !w.is_empty()) {
            assert!(["lorem", "ipsum", "dolor", "sit", "the", "refund", "is", "missing"].contains(&w), "{w}");
        }
    }

    #[test]
    fn no_match_gives_the_start_of_the_first_text() {
        let s = snippet(&["Subject line", "body"], &terms("absent").unwrap());
        assert_eq!(s.text, "Subject line");
        assert!(s.highlights.is_empty());
        assert_eq!(snippet(&[], &terms("absent").unwrap()), Snippet::default());
    }
}
