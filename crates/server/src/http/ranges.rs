//! One byte range of a file (RFC 9110 §14): what a `Range` header asks of a file of a
//! known length. Browsers seek in a recording by asking for the bytes from a point on; a
//! media element without ranges can only play from the start (Chromium then seeks only
//! within what it has loaded).

/// What to send for a `Range` header.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Ranged {
    /// No (usable) range: the whole file, `200`.
    Whole,
    /// Bytes `start..=end`, `206` with a `Content-Range`.
    Part {
        /// The first byte.
        start: u64,
        /// The last byte (inclusive).
        end: u64,
    },
    /// A range past the end of the file: `416`.
    Unsatisfiable,
}

/// Reads `header` (`bytes=a-b`, `bytes=a-`, `bytes=-n`) for a file of `len` bytes. Several
/// ranges, another unit or a malformed header get the whole file, as RFC 9110 allows.
pub(super) fn parse(header: Option<&str>, len: u64) -> Ranged {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Ranged::Whole;
    };
    if spec.contains(',') {
        return Ranged::Whole;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return Ranged::Whole;
    };
    let (start, end) = match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(start), Ok(end)) if start <= end => (start, end.min(len.saturating_sub(1))),
        (Ok(start), Err(_)) if b.is_empty() => (start, len.saturating_sub(1)),
        (Err(_), Ok(suffix)) if a.is_empty() && suffix > 0 => {
            (len.saturating_sub(suffix), len.saturating_sub(1))
        }
        _ => return Ranged::Whole,
    };
    if start >= len {
        return Ranged::Unsatisfiable;
    }
    Ranged::Part { start, end }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_from_a_point_to_a_point_and_from_the_end() {
        let part = |start, end| Ranged::Part { start, end };
        assert_eq!(parse(Some("bytes=0-"), 100), part(0, 99));
        assert_eq!(parse(Some("bytes=10-19"), 100), part(10, 19));
        assert_eq!(parse(Some("bytes=90-500"), 100), part(90, 99));
        assert_eq!(parse(Some("bytes=-30"), 100), part(70, 99));
        assert_eq!(parse(Some("bytes=-300"), 100), part(0, 99));
        assert_eq!(parse(Some("bytes=100-"), 100), Ranged::Unsatisfiable);
        assert_eq!(parse(Some("bytes=0-"), 0), Ranged::Unsatisfiable);
        for whole in [
            None,
            Some("bytes=5-1"),
            Some("bytes=0-1,5-6"),
            Some("items=0-1"),
            Some("bytes=x-"),
            Some("bytes=-0"),
        ] {
            assert_eq!(parse(whole, 100), Ranged::Whole, "{whole:?}");
        }
    }
}
