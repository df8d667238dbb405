//! Telling STUN from ChannelData (RFC 8656 §12) and cutting them out of TCP/TLS streams.
//!
//! The first two bits of a frame decide: `00` is a STUN message (20-byte header whose
//! length field counts the attributes, always a multiple of 4), `01` is ChannelData
//! (channel number 0x4000..=0x7FFF, a 16-bit length, the data, and over streams padding
//! to a multiple of 4). Anything else is neither.

const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];
const STUN_HEADER: usize = 20;

/// The channel numbers a client may bind. RFC 8656 §12 narrowed RFC 5766's
/// 0x4000..=0x7FFF to 0x4000..=0x4FFF, but RFC 5766 clients (coturn's own among them)
/// still pick from the old range, and every number in it demultiplexes unambiguously
/// (first two bits `01`), so we accept the old range, as coturn does.
pub(crate) const CHANNEL_RANGE: std::ops::RangeInclusive<u16> = 0x4000..=0x7FFF;

/// Why the start of a stream is neither STUN nor ChannelData. The driver should close the
/// connection: there is no way to find the next frame boundary.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FramingError {
    /// The first byte starts neither a STUN message (`00`) nor ChannelData (`01`).
    #[error("first byte {0:#04x} starts neither a STUN message nor ChannelData")]
    UnknownFrame(u8),
    /// The STUN magic cookie is wrong.
    #[error("STUN header without the magic cookie")]
    BadCookie,
    /// A STUN length that is not a multiple of 4.
    #[error("STUN message length {0} is not a multiple of 4")]
    UnalignedLength(u16),
}

/// Stream framing for TCP/TLS: given the start of a stream buffer, the length of the
/// first complete STUN message or ChannelData frame *including* its padding, `Ok(None)` if
/// more bytes are needed, `Err` if the bytes can be neither (close that connection).
///
/// It validates as early as it can: a partial header whose bytes already contradict STUN
/// or ChannelData is an error, not `None`. The longest frame is 65 555 bytes (a STUN
/// message with a 65 535-byte body), so a driver buffer of 64 KiB + 20 always suffices.
///
/// ```
/// use confab_turn::frame_len;
/// let channel_data = [0x40, 0x00, 0x00, 0x03, 1, 2, 3, 0]; // 3 bytes + 1 padding
/// assert_eq!(frame_len(&channel_data), Ok(Some(8)));
/// assert_eq!(frame_len(&channel_data[..5]), Ok(None));
/// assert!(frame_len(&[0xC0, 0, 0, 0]).is_err());
/// ```
pub fn frame_len(buf: &[u8]) -> Result<Option<usize>, FramingError> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    match first >> 6 {
        0 => stun_len(buf),
        1 => channel_len(buf),
        _ => Err(FramingError::UnknownFrame(first)),
    }
}

fn stun_len(buf: &[u8]) -> Result<Option<usize>, FramingError> {
    let cookie = buf.get(4..buf.len().min(8)).unwrap_or(&[]);
    if cookie != &MAGIC_COOKIE[..cookie.len()] {
        return Err(FramingError::BadCookie);
    }
    let Some(len) = buf.get(2..4) else {
        return Ok(None);
    };
    let len = u16::from_be_bytes([len[0], len[1]]);
    if len % 4 != 0 {
        return Err(FramingError::UnalignedLength(len));
    }
    let total = STUN_HEADER + usize::from(len);
    Ok((buf.len() >= total && buf.len() >= STUN_HEADER).then_some(total))
}

fn channel_len(buf: &[u8]) -> Result<Option<usize>, FramingError> {
    let (Some(&hi), Some(&lo)) = (buf.first(), buf.get(1)) else {
        return Ok(None);
    };
    // Called on a `01` first byte, so the number is always in CHANNEL_RANGE.
    debug_assert!(CHANNEL_RANGE.contains(&u16::from_be_bytes([hi, lo])));
    let Some(len) = buf.get(2..4) else {
        return Ok(None);
    };
    let total = 4 + pad4(usize::from(u16::from_be_bytes([len[0], len[1]])));
    Ok((buf.len() >= total).then_some(total))
}

/// Round up to a multiple of 4.
pub(crate) fn pad4(len: usize) -> usize {
    len.div_ceil(4) * 4
}

/// Parse one ChannelData frame as received over UDP or cut by [`frame_len`]: the channel
/// number and the data. Padding (or any other trailing bytes) after the data is ignored.
/// `None` if the channel number is outside the client range or the frame is short.
pub(crate) fn parse_channel_data(frame: &[u8]) -> Option<(u16, &[u8])> {
    let header = frame.get(..4)?;
    let channel = u16::from_be_bytes([header[0], header[1]]);
    let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
    if !CHANNEL_RANGE.contains(&channel) {
        return None;
    }
    Some((channel, frame.get(4..4 + len)?))
}

/// Encode a ChannelData frame, padded to 4 bytes when `pad` (stream transports).
/// `None` if `data` does not fit the 16-bit length.
pub(crate) fn channel_data(channel: u16, data: &[u8], pad: bool) -> Option<Vec<u8>> {
    let len = u16::try_from(data.len()).ok()?;
    let total = if pad {
        4 + pad4(data.len())
    } else {
        4 + data.len()
    };
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&channel.to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(data);
    out.resize(total, 0);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stun_header(len: u16) -> Vec<u8> {
        let mut h = vec![0x00, 0x01];
        h.extend_from_slice(&len.to_be_bytes());
        h.extend_from_slice(&MAGIC_COOKIE);
        h.extend_from_slice(&[7; 12]);
        h
    }

    #[test]
    fn stun_frames() {
        let mut msg = stun_header(8);
        msg.extend_from_slice(&[0; 8]);
        assert_eq!(frame_len(&msg), Ok(Some(28)));
        msg.extend_from_slice(&[0x40, 0, 0, 0]); // the next frame does not matter
        assert_eq!(frame_len(&msg), Ok(Some(28)));
        for cut in 0..28 {
            assert_eq!(frame_len(&msg[..cut]), Ok(None), "cut at {cut}");
        }
        assert_eq!(
            frame_len(&stun_header(6)),
            Err(FramingError::UnalignedLength(6))
        );
        let mut bad = stun_header(0);
        bad[5] = 0;
        assert_eq!(frame_len(&bad[..6]), Err(FramingError::BadCookie));
        assert_eq!(frame_len(&bad), Err(FramingError::BadCookie));
        assert_eq!(frame_len(&stun_header(0)), Ok(Some(20)));
        assert_eq!(frame_len(&stun_header(0xFFFC)[..20]), Ok(None));
    }

    #[test]
    fn channel_data_frames() {
        let frame = channel_data(0x4001, &[1, 2, 3, 4, 5], true).unwrap();
        assert_eq!(frame.len(), 12);
        assert_eq!(frame_len(&frame), Ok(Some(12)));
        assert_eq!(frame_len(&frame[..9]), Ok(None));
        assert_eq!(frame_len(&frame[..1]), Ok(None));
        assert_eq!(
            parse_channel_data(&frame),
            Some((0x4001, &[1, 2, 3, 4, 5][..]))
        );
        let unpadded = channel_data(0x4FFF, &[9], false).unwrap();
        assert_eq!(unpadded, [0x4F, 0xFF, 0, 1, 9]);
        assert_eq!(parse_channel_data(&unpadded), Some((0x4FFF, &[9][..])));
        assert_eq!(parse_channel_data(&unpadded[..4]), None);
        assert_eq!(frame_len(&[0x40, 0, 0, 0]), Ok(Some(4)));
        // RFC 5766's wider range is accepted (coturn's clients use it).
        assert_eq!(frame_len(&[0x7F, 0xFF]), Ok(None));
        assert_eq!(
            parse_channel_data(&[0x50, 0, 0, 0]),
            Some((0x5000, &[][..]))
        );
        assert!(channel_data(0x4000, &vec![0; 70_000], false).is_none());
    }

    #[test]
    fn garbage() {
        assert_eq!(frame_len(&[]), Ok(None));
        assert_eq!(frame_len(&[0x80]), Err(FramingError::UnknownFrame(0x80)));
        assert_eq!(
            frame_len(&[0xFF, 0xFF]),
            Err(FramingError::UnknownFrame(0xFF))
        );
        // "GE" and "PU" happen to be valid channel numbers: such a stream waits for a
        // frame that never completes, and the driver's buffer cap closes it.
        assert_eq!(frame_len(b"GET / HTTP/1.1\r\n"), Ok(None));
        assert_eq!(frame_len(b"PUT / HTTP/1.1\r\n"), Ok(None));
        // A TLS ClientHello record is caught by the cookie check.
        assert_eq!(
            frame_len(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01]),
            Err(FramingError::BadCookie)
        );
    }
}
