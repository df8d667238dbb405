//! H.264 as cameras send it (Annex B: NAL units after start codes) made ready for
//! Matroska (`V_MPEG4/ISO/AVC`): NAL units with 4-byte lengths instead of start codes, and
//! the decoder configuration (`avcC`, ISO/IEC 14496-15 §5.3.3) built from the stream's
//! SPS and PPS as the track's CodecPrivate. The SPS also gives the picture size the track
//! header needs. Everything here reads network input: it never panics, and a malformed
//! SPS is `None`, never a guess.

/// NAL unit types used here (ITU-T H.264 Table 7-1).
const IDR: u8 = 5;
const SPS: u8 = 7;
const PPS: u8 = 8;

/// The NAL units of an Annex B access unit, without their start codes (and without the
/// zero bytes that may pad one before the next start code). Bytes before the first start
/// code are taken as a NAL unit too (a sender that leaves the first start code out).
pub fn nal_units(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = data;
    std::iter::from_fn(move || loop {
        if rest.is_empty() {
            return None;
        }
        let start = match find_start(rest) {
            Some((0, len)) => {
                rest = &rest[len..];
                continue;
            }
            Some((at, _)) => at,
            None => rest.len(),
        };
        let (nal, tail) = rest.split_at(start);
        rest = tail;
        let end = nal.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
        if end > 0 {
            return Some(&nal[..end]);
        }
    })
}

/// The first start code (`00 00 01`) in `data`: where it begins and how long it is.
fn find_start(data: &[u8]) -> Option<(usize, usize)> {
    let at = data.windows(3).position(|w| w == [0, 0, 1])?;
    Some((at, 3))
}

/// A NAL unit's type (the low five bits of its first byte).
fn nal_type(nal: &[u8]) -> u8 {
    nal.first().map_or(0, |b| b & 0x1F)
}

/// Whether an access unit decodes alone: it has an IDR slice.
pub fn is_keyframe(access_unit: &[u8]) -> bool {
    nal_units(access_unit).any(|n| nal_type(n) == IDR)
}

/// An Annex B access unit as Matroska blocks carry H.264: each NAL unit after its length
/// (4 bytes, big-endian, as the `avcC` from [`decoder_config`] declares).
pub fn length_prefixed(access_unit: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(access_unit.len() + 8);
    for nal in nal_units(access_unit) {
        // A NAL unit over 4 GiB cannot be in a frame we were given whole.
        let len = u32::try_from(nal.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(nal);
    }
    out
}

/// What a track header needs from a keyframe's SPS and PPS: the `avcC` record and the
/// picture size. `None` without an SPS and a PPS, or with an SPS that does not parse.
pub fn decoder_config(access_unit: &[u8]) -> Option<(Vec<u8>, u16, u16)> {
    let sps = nal_units(access_unit).find(|n| nal_type(n) == SPS)?;
    let pps = nal_units(access_unit).find(|n| nal_type(n) == PPS)?;
    let info = parse_sps(sps)?;
    let mut avcc = vec![
        1,
        sps.get(1).copied()?,
        sps.get(2).copied()?,
        sps.get(3).copied()?,
        0xFC | 3, // 4-byte lengths
        0xE0 | 1, // one SPS
    ];
    avcc.extend_from_slice(&u16::try_from(sps.len()).ok()?.to_be_bytes());
    avcc.extend_from_slice(sps);
    avcc.push(1); // one PPS
    avcc.extend_from_slice(&u16::try_from(pps.len()).ok()?.to_be_bytes());
    avcc.extend_from_slice(pps);
    if HIGH_PROFILES.contains(&info.profile) {
        // ISO/IEC 14496-15 §5.3.3.1.2: the chroma format and bit depths, no SPS extensions.
        avcc.push(0xFC | info.chroma_format);
        avcc.push(0xF8 | info.bit_depth_luma_minus8);
        avcc.push(0xF8 | info.bit_depth_chroma_minus8);
        avcc.push(0);
    }
    Some((avcc, info.width, info.height))
}

/// Profiles whose SPS carries the chroma format and bit depths (H.264 §7.3.2.1.1).
const HIGH_PROFILES: [u8; 13] = [100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135];

/// What [`parse_sps`] reads.
#[derive(Debug, PartialEq, Eq)]
pub struct SpsInfo {
    /// `profile_idc`.
    pub profile: u8,
    /// `chroma_format_idc` (1, 4:2:0, when the profile does not say).
    pub chroma_format: u8,
    /// `bit_depth_luma_minus8`.
    pub bit_depth_luma_minus8: u8,
    /// `bit_depth_chroma_minus8`.
    pub bit_depth_chroma_minus8: u8,
    /// The picture's width after cropping.
    pub width: u16,
    /// The picture's height after cropping.
    pub height: u16,
}

/// Reads an SPS NAL unit (its header byte included) up to the cropping window
/// (H.264 §7.3.2.1.1). `None` if it ends early or holds an impossible value.
pub fn parse_sps(nal: &[u8]) -> Option<SpsInfo> {
    if nal_type(nal) != SPS {
        return None;
    }
    let rbsp = unescape(nal.get(1..)?);
    let mut r = Bits::new(&rbsp);
    let profile = r.bits(8)? as u8;
    r.bits(16)?; // constraint flags, level_idc
    r.ue()?; // seq_parameter_set_id
    let (mut chroma_format, mut luma8, mut chroma8) = (1u32, 0u32, 0u32);
    if HIGH_PROFILES.contains(&profile) {
        chroma_format = r.ue()?;
        if chroma_format > 3 {
            return None;
        }
        if chroma_format == 3 {
            r.bits(1)?; // separate_colour_plane_flag
        }
        luma8 = r.ue()?;
        chroma8 = r.ue()?;
        if luma8 > 6 || chroma8 > 6 {
            return None;
        }
        r.bits(1)?; // qpprime_y_zero_transform_bypass_flag
        if r.bits(1)? == 1 {
            let lists = if chroma_format == 3 { 12 } else { 8 };
            for i in 0..lists {
                if r.bits(1)? == 1 {
                    skip_scaling_list(&mut r, if i < 6 { 16 } else { 64 })?;
                }
            }
        }
    }
    r.ue()?; // log2_max_frame_num_minus4
    match r.ue()? {
        0 => {
            r.ue()?; // log2_max_pic_order_cnt_lsb_minus4
        }
        1 => {
            r.bits(1)?;
            r.se()?;
            r.se()?;
            let cycle = r.ue()?;
            if cycle > 255 {
                return None;
            }
            for _ in 0..cycle {
                r.se()?;
            }
        }
        2 => {}
        _ => return None,
    }
    r.ue()?; // max_num_ref_frames
    r.bits(1)?; // gaps_in_frame_num_value_allowed_flag
    let width_mbs = u64::from(r.ue()?) + 1;
    let height_units = u64::from(r.ue()?) + 1;
    let frame_mbs_only = u64::from(r.bits(1)?);
    if frame_mbs_only == 0 {
        r.bits(1)?; // mb_adaptive_frame_field_flag
    }
    r.bits(1)?; // direct_8x8_inference_flag
    let mut crop = [0u64; 4];
    if r.bits(1)? == 1 {
        for c in &mut crop {
            *c = u64::from(r.ue()?);
        }
    }
    let (unit_x, unit_y) = match chroma_format {
        1 => (2, 2 * (2 - frame_mbs_only)),
        2 => (2, 2 - frame_mbs_only),
        _ => (1, 2 - frame_mbs_only),
    };
    let width = (width_mbs * 16).checked_sub(unit_x * (crop[0] + crop[1]))?;
    let height =
        ((2 - frame_mbs_only) * height_units * 16).checked_sub(unit_y * (crop[2] + crop[3]))?;
    Some(SpsInfo {
        profile,
        chroma_format: chroma_format as u8,
        bit_depth_luma_minus8: luma8 as u8,
        bit_depth_chroma_minus8: chroma8 as u8,
        width: u16::try_from(width).ok().filter(|w| *w > 0)?,
        height: u16::try_from(height).ok().filter(|h| *h > 0)?,
    })
}

/// Skips a scaling list of `size` entries (H.264 §7.3.2.1.1.1).
fn skip_scaling_list(r: &mut Bits<'_>, size: usize) -> Option<()> {
    let (mut last, mut next) = (8i64, 8i64);
    for _ in 0..size {
        if next != 0 {
            next = (last + i64::from(r.se()?) + 256).rem_euclid(256);
        }
        if next != 0 {
            last = next;
        }
    }
    Some(())
}

/// The RBSP of a NAL unit's payload: every emulation prevention byte (the `03` of
/// `00 00 03`) taken out.
fn unescape(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len());
    let mut zeros = 0;
    for &b in payload {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

/// A big-endian bit reader with Exp-Golomb codes.
struct Bits<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Bits<'a> {
        Bits { data, at: 0 }
    }

    /// The next `n` (at most 32) bits.
    fn bits(&mut self, n: u32) -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            let byte = *self.data.get(self.at / 8)?;
            let bit = (byte >> (7 - self.at % 8)) & 1;
            v = (v << 1) | u32::from(bit);
            self.at += 1;
        }
        Some(v)
    }

    /// An unsigned Exp-Golomb code (at most 31 leading zeros: a value fits in 32 bits).
    fn ue(&mut self) -> Option<u32> {
        let mut zeros = 0;
        while self.bits(1)? == 0 {
            zeros += 1;
            if zeros > 31 {
                return None;
            }
        }
        let rest = self.bits(zeros)?;
        ((1u64 << zeros) - 1 + u64::from(rest)).try_into().ok()
    }

    /// A signed Exp-Golomb code.
    fn se(&mut self) -> Option<i32> {
        let k = i64::from(self.ue()?);
        let v = if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) };
        i32::try_from(v).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// x264's SPS for 320x240, High profile (4:2:0, 8 bits), and its PPS.
    const SPS_320X240: [u8; 25] = [
        0x67, 0x64, 0x00, 0x0D, 0xAC, 0xD9, 0x41, 0x41, 0xFB, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00,
        0x10, 0x00, 0x00, 0x03, 0x03, 0x20, 0xF1, 0x42, 0x99, 0x60,
    ];
    const PPS: [u8; 6] = [0x68, 0xEB, 0xE3, 0xCB, 0x22, 0xC0];

    fn annex_b(nals: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, n) in nals.iter().enumerate() {
            // Both start code lengths, as encoders mix them.
            out.extend_from_slice(if i == 0 { &[0, 0, 0, 1] } else { &[0, 0, 1] });
            out.extend_from_slice(n);
        }
        out
    }

    #[test]
    fn an_sps_gives_the_picture_size_and_the_decoder_configuration() {
        let info = parse_sps(&SPS_320X240).expect("parses");
        assert_eq!((info.width, info.height, info.profile), (320, 240, 100));
        let au = annex_b(&[&SPS_320X240, &PPS, &[0x65, 0x88, 0x84]]);
        assert!(is_keyframe(&au));
        let (avcc, w, h) = decoder_config(&au).expect("an SPS and a PPS");
        assert_eq!((w, h), (320, 240));
        assert_eq!(&avcc[..6], [1, 0x64, 0x00, 0x0D, 0xFF, 0xE1]);
        assert_eq!(
            avcc.len(),
            6 + 2 + SPS_320X240.len() + 1 + 2 + PPS.len() + 4
        );
    }

    #[test]
    fn annex_b_becomes_length_prefixed_and_delta_frames_are_not_keyframes() {
        let au = annex_b(&[&[0x09, 0xF0], &[0x41, 0x9A, 0x00, 0x00]]);
        assert!(!is_keyframe(&au));
        // The slice's trailing zeros are padding before a start code, not its bytes.
        assert_eq!(
            length_prefixed(&au),
            [0, 0, 0, 2, 0x09, 0xF0, 0, 0, 0, 2, 0x41, 0x9A]
        );
        assert_eq!(nal_units(&[0, 0, 1, 0, 0, 1]).count(), 0);
        assert!(decoder_config(&annex_b(&[&PPS])).is_none());
    }

    #[test]
    fn cropping_and_other_profiles_are_read() {
        // Baseline, 322x180: 21 by 12 macroblocks, cropped by 14 and 12 pixels.
        let baseline = [
            0x67, 0x42, 0xC0, 0x0D, 0xD9, 0x01, 0x51, 0x9E, 0x22, 0x7C, 0x04, 0x40, 0x00, 0x00,
            0x03, 0x00, 0x40, 0x00, 0x00, 0x0C, 0x83, 0xC5, 0x0A, 0x92,
        ];
        let info = parse_sps(&baseline).expect("parses");
        assert_eq!((info.width, info.height, info.profile), (322, 180, 66));
        // High 4:4:4 Predictive (chroma format 3), 320x240.
        let yuv444 = [
            0x67, 0xF4, 0x00, 0x0D, 0x91, 0x9B, 0x28, 0x28, 0x3F, 0x60, 0x22, 0x00, 0x00, 0x03,
            0x00, 0x02, 0x00, 0x00, 0x03, 0x00, 0x64, 0x1E, 0x28, 0x53, 0x2C,
        ];
        let info = parse_sps(&yuv444).expect("parses");
        assert_eq!((info.width, info.height, info.chroma_format), (320, 240, 3));
    }

    #[test]
    fn random_bytes_never_panic_and_keep_every_nal_unit() {
        // A fixed pseudo-random stream (the fuzz target `record` goes further), biased
        // towards start codes and SPS headers so the parser gets deep.
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..2000 {
            let len = (next() % 64) as usize;
            let mut au = Vec::with_capacity(len + 8);
            while au.len() < len {
                match next() % 8 {
                    0 => au.extend_from_slice(&[0, 0, 1]),
                    1 => au.extend_from_slice(&[0, 0, 1, 0x67, 0x64]),
                    _ => au.push(next() as u8),
                }
            }
            let nals: usize = nal_units(&au).map(|n| n.len() + 4).sum();
            assert_eq!(length_prefixed(&au).len(), nals);
            let _ = (is_keyframe(&au), decoder_config(&au));
            for n in nal_units(&au) {
                if let Some(info) = parse_sps(n) {
                    assert!(info.width > 0 && info.height > 0);
                }
            }
        }
    }

    #[test]
    fn a_truncated_or_impossible_sps_is_refused() {
        // The fields up to the cropping window end in the ninth byte (the rest is VUI,
        // which is not read).
        assert!(parse_sps(&SPS_320X240[..9]).is_some());
        for cut in 0..9 {
            assert!(parse_sps(&SPS_320X240[..cut]).is_none(), "cut at {cut}");
        }
        assert!(parse_sps(&PPS).is_none());
        // 00 00 03 is unescaped: the SPS above relies on it.
        assert_eq!(unescape(&[0, 0, 3, 1, 0, 0, 3]), [0, 0, 1, 0, 0]);
    }
}
