//! EBML, the binary encoding under Matroska and WebM (RFC 8794): element ids, variable
//! length sizes, and the few value types a muxer writes.

/// The size of an element whose end is not known yet (all eight bytes ones): a parser
/// reads on until an element that cannot be its child. Live WebM (a browser's
/// MediaRecorder) writes its Segment and Clusters this way, so a file cut off anywhere
/// is still read up to its last whole block.
pub const UNKNOWN_SIZE: [u8; 8] = [0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];

/// Appends an element id (its bytes as the specification writes them, marker included).
pub fn id(out: &mut Vec<u8>, id: u32) {
    let bytes = id.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    out.extend_from_slice(&bytes[skip..]);
}

/// Appends `n` as an EBML variable-length size, in the fewest bytes (at most 8).
pub fn size(out: &mut Vec<u8>, n: u64) {
    // Length L holds 7 * L bits; all ones is reserved (unknown size).
    let len = (1..=8u32).find(|l| n < (1u64 << (7 * l)) - 1).unwrap_or(8);
    let marked = n | (1u64 << (7 * len));
    out.extend_from_slice(&marked.to_be_bytes()[8 - len as usize..]);
}

/// Appends a whole element: id, size, then `body`.
pub fn element(out: &mut Vec<u8>, element_id: u32, body: &[u8]) {
    id(out, element_id);
    size(out, body.len() as u64);
    out.extend_from_slice(body);
}

/// An unsigned integer element, in the fewest bytes (at least one).
pub fn uint(out: &mut Vec<u8>, element_id: u32, v: u64) {
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count().min(7);
    element(out, element_id, &bytes[skip..]);
}

/// A float element, as 8 bytes.
pub fn float(out: &mut Vec<u8>, element_id: u32, v: f64) {
    element(out, element_id, &v.to_be_bytes());
}

/// A string element.
pub fn string(out: &mut Vec<u8>, element_id: u32, v: &str) {
    element(out, element_id, v.as_bytes());
}

/// Starts an element of unknown size (see [`UNKNOWN_SIZE`]).
pub fn open(out: &mut Vec<u8>, element_id: u32) {
    id(out, element_id);
    out.extend_from_slice(&UNKNOWN_SIZE);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sized(n: u64) -> Vec<u8> {
        let mut out = Vec::new();
        size(&mut out, n);
        out
    }

    #[test]
    fn sizes_take_the_fewest_bytes_and_avoid_the_reserved_value() {
        assert_eq!(sized(0), [0x80]);
        assert_eq!(sized(126), [0xFE]);
        // 127 in one byte would be all ones (unknown): it takes two.
        assert_eq!(sized(127), [0x40, 0x7F]);
        assert_eq!(sized(0x3FFE), [0x7F, 0xFE]);
        assert_eq!(sized(0x3FFF), [0x20, 0x3F, 0xFF]);
    }

    #[test]
    fn ids_keep_their_marker_and_integers_their_fewest_bytes() {
        let mut out = Vec::new();
        id(&mut out, 0x1A45_DFA3);
        assert_eq!(out, [0x1A, 0x45, 0xDF, 0xA3]);
        let mut out = Vec::new();
        uint(&mut out, 0xD7, 1);
        assert_eq!(out, [0xD7, 0x81, 0x01]);
        let mut out = Vec::new();
        uint(&mut out, 0x2A_D7B1, 1_000_000);
        assert_eq!(out, [0x2A, 0xD7, 0xB1, 0x83, 0x0F, 0x42, 0x40]);
    }
}
