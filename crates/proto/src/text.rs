//! The rules for human text in the protocol: display names and chat messages.
//!
//! Both refuse control characters and keep no Unicode format characters (category Cf:
//! bidi overrides, zero-width spaces, tags) beyond the joiners that scripts and emoji
//! need. A name holding one is refused (`bad_name`): a name is typed once and must be
//! told apart from others. Chat text has them removed instead (pasted text often holds
//! soft hyphens, BOMs or direction marks its sender never saw, and refusing it would
//! leave them puzzled); the sender's own echo shows what was kept.

use crate::server::ErrorCode;
use crate::{MAX_CHAT_CHARS, MAX_NAME_CHARS};

/// The Unicode format characters (general category Cf, Unicode 15.1) as inclusive
/// ranges: bidi overrides, embeddings and isolates, zero-width spaces and joiners, the
/// soft hyphen, the BOM, invisible operators, tags. Invisible or reordering, so in a
/// name they let one person pass for another (`Ada` and `A\u{200B}da`) or reverse what
/// follows it on screen.
pub(crate) const FORMAT_CHARS: &[(u32, u32)] = &[
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
];

/// Whether `c` is a Unicode format character (category Cf; see [`FORMAT_CHARS`]).
pub fn is_format_char(c: char) -> bool {
    let c = u32::from(c);
    FORMAT_CHARS
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                std::cmp::Ordering::Less
            } else if lo > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// Whether the format character at `i` of `chars` is one text may keep: a zero-width
/// joiner or non-joiner (U+200D, U+200C) standing between two non-ASCII characters
/// (not spaces).
/// Those two are part of how Persian, Arabic and Indic words are written and of emoji
/// sequences (a family, a profession); between ASCII letters they only hide
/// (`A\u{200D}da` passing for `Ada`). Every other format character is invisible or
/// reorders what follows it.
fn kept_joiner(chars: &[char], i: usize) -> bool {
    let c = chars[i];
    let joiner = c == '\u{200C}' || c == '\u{200D}';
    let visible = |j: Option<&char>| {
        j.is_some_and(|&x| !x.is_ascii() && !x.is_whitespace() && !is_format_char(x))
    };
    joiner && i > 0 && visible(chars.get(i - 1)) && visible(chars.get(i + 1))
}

/// Whether `name` holds a format character it may not (see [`kept_joiner`]).
fn has_forbidden_format_char(name: &str) -> bool {
    let chars: Vec<char> = name.chars().collect();
    (0..chars.len()).any(|i| is_format_char(chars[i]) && !kept_joiner(&chars, i))
}

/// `text` without the format characters it may not keep (see [`kept_joiner`]).
fn strip_format_chars(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    (0..chars.len())
        .filter(|&i| !is_format_char(chars[i]) || kept_joiner(&chars, i))
        .map(|i| chars[i])
        .collect()
}

/// A display name as the protocol accepts it: trimmed, 1 to [`MAX_NAME_CHARS`]
/// characters, no control characters and no format characters ([`is_format_char`]:
/// bidi overrides, zero-width spaces) beyond the joiners scripts and emoji need (see
/// `has_forbidden_format_char`). Also used for names that come in join tokens.
pub fn normalize_name(name: &str) -> Result<String, (ErrorCode, String)> {
    let trimmed = name.trim();
    let chars = trimmed.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err((
            ErrorCode::BadName,
            format!("name must be 1-{MAX_NAME_CHARS} characters"),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err((
            ErrorCode::BadName,
            "name must not contain control characters".into(),
        ));
    }
    if has_forbidden_format_char(trimmed) {
        return Err((
            ErrorCode::BadName,
            "name must not contain invisible formatting characters (such as bidi \
             overrides or zero-width spaces)"
                .into(),
        ));
    }
    Ok(trimmed.to_owned())
}

/// Chat text as the protocol accepts it: format characters removed (see
/// [`kept_joiner`]: so a right-to-left override cannot reverse what follows the message
/// on screen, nor a zero-width character hide inside a word), then trimmed; 1 to
/// [`MAX_CHAT_CHARS`] characters; no control characters other than `\n` and `\t`.
/// Applying it again changes nothing.
pub fn normalize_chat_text(text: &str) -> Result<String, (ErrorCode, String)> {
    let stripped = if text.chars().any(is_format_char) {
        strip_format_chars(text)
    } else {
        text.to_owned()
    };
    let trimmed = stripped.trim();
    let chars = trimmed.chars().count();
    if chars == 0 || chars > MAX_CHAT_CHARS {
        return Err((
            ErrorCode::BadText,
            format!("text must be 1-{MAX_CHAT_CHARS} characters after trimming"),
        ));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err((
            ErrorCode::BadText,
            "text must not contain control characters other than newline and tab".into(),
        ));
    }
    Ok(if trimmed.len() == stripped.len() {
        stripped
    } else {
        trimmed.to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_format_characters_are_refused() {
        for bad in [
            "Ada\u{202E}nimda",    // right-to-left override
            "A\u{200B}da",         // zero-width space
            "\u{2067}Ada",         // right-to-left isolate
            "Ada\u{FEFF}",         // byte order mark
            "Ad\u{00AD}a",         // soft hyphen
            "Ada\u{E0041}",        // tag
            "\u{200F}Ada\u{200E}", // direction marks
            "A\u{200D}da",         // a joiner between ASCII letters only hides
            "\u{200C}مریم",        // a joiner at the start joins nothing
        ] {
            assert!(normalize_name(bad).is_err(), "{bad:?}");
        }
        // Joiners that scripts and emoji need stay: a Persian name with a ZWNJ, a family
        // emoji built with ZWJs.
        let persian = "می\u{200C}خواهم";
        let family = "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467} Ada";
        for good in [
            "Ada", "أحمد", "שרה", "李雷", "Zoë", "😀 Ada", persian, family,
        ] {
            assert!(normalize_name(good).is_ok(), "{good:?}");
        }
        // The table agrees with its neighbours (not format characters).
        for c in [
            '\u{00AC}', '\u{00AE}', '\u{200A}', '\u{2010}', '\u{2065}', '\u{2070}',
        ] {
            assert!(!is_format_char(c), "{c:?}");
        }
        assert!(
            FORMAT_CHARS.windows(2).all(|w| w[0].1 < w[1].0),
            "sorted, disjoint"
        );
    }

    #[test]
    fn chat_text_loses_overrides_and_invisible_characters_but_keeps_joiners_emoji_need() {
        let ok = |t: &str| normalize_chat_text(t).unwrap();
        // A right-to-left override would show "see gnp.exe" as "see exe.png".
        assert_eq!(ok("see \u{202E}gnp.exe"), "see gnp.exe");
        assert_eq!(ok("pay A\u{200B}da"), "pay Ada");
        assert_eq!(ok("\u{FEFF}hello\u{2067}\u{2069}"), "hello");
        assert_eq!(ok("soft\u{00AD}ware \u{E0041}x"), "software x");
        assert_eq!(ok("\u{200F} مرحبا \u{200E}"), "مرحبا");
        // Joiners between non-ASCII characters stay: emoji sequences, Persian words.
        let family = "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}";
        let persian = "می\u{200C}خواهم";
        for good in [family, persian, "a\nb\tc", "plain"] {
            assert_eq!(ok(good), good, "{good:?}");
        }
        // Nothing visible left is no text; stripping again changes nothing.
        let (code, _) = normalize_chat_text("\u{200B}\u{202E} ").unwrap_err();
        assert_eq!(code, ErrorCode::BadText);
        let once = ok("x\u{200D}y \u{1F468}\u{200D}\u{1F469} \u{202D}z");
        assert_eq!(once, "xy \u{1F468}\u{200D}\u{1F469} z");
        assert_eq!(ok(&once), once);
    }
}
