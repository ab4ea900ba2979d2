//! Payload decompression for PublishMessages.
//!
//! The protocol says "zlib"; Digi's Java client also accepts raw deflate and the REST keyword is
//! `gzip`, so the framing is sniffed from the first bytes. Each payload arrives whole, so zlib and
//! raw deflate go through libdeflate's whole-buffer decoder (about twice zlib's speed on the
//! literal-heavy JSON pushes carry) into a reused scratch buffer; gzip (possibly multi-member)
//! keeps flate2's streaming reader.

use std::io::Read;

use libdeflater::{DecompressionError, Decompressor};

use super::codec::CodecError;

/// Largest output inflated into the reused scratch buffer (bigger ones get their own buffer).
const SCRATCH_MAX: usize = 1 << 20;

/// Reusable inflater with an output cap (guards against decompression bombs).
pub struct Inflater {
    decompressor: Decompressor,
    scratch: Vec<u8>,
    max_output: usize,
}

/// Which framing a compressed payload uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wrapping {
    Zlib,
    Gzip,
    RawDeflate,
}

/// Sniff the wrapping: gzip magic, a valid zlib header (CM=8, check bits), else raw deflate.
pub fn sniff(data: &[u8]) -> Wrapping {
    match data {
        [0x1f, 0x8b, ..] => Wrapping::Gzip,
        [cmf, flg, ..]
            if cmf & 0x0f == 8
                && cmf >> 4 <= 7
                && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0 =>
        {
            Wrapping::Zlib
        }
        _ => Wrapping::RawDeflate,
    }
}

impl Inflater {
    pub fn new(max_output: usize) -> Self {
        Inflater {
            decompressor: Decompressor::new(),
            scratch: Vec::new(),
            max_output,
        }
    }

    /// Inflate one whole payload.
    pub fn inflate(&mut self, data: &[u8]) -> Result<Vec<u8>, CodecError> {
        let zlib = match sniff(data) {
            Wrapping::Gzip => return self.gunzip(data),
            Wrapping::Zlib => true,
            Wrapping::RawDeflate => false,
        };
        // Typical JSON compresses 2-4x: start there and double on "insufficient space" (each
        // retry restarts, so the total work stays within twice the final attempt's).
        let mut capacity = (data.len() * 4).clamp(64, self.max_output.max(64));
        loop {
            // Small outputs reuse the scratch buffer; big ones get a fresh zeroed allocation
            // (calloc: pages never written cost nothing) that is returned without a copy.
            let mut fresh = Vec::new();
            let out = if capacity > SCRATCH_MAX {
                fresh.resize(capacity, 0);
                &mut fresh[..]
            } else {
                if self.scratch.len() < capacity {
                    self.scratch.resize(capacity, 0);
                }
                &mut self.scratch[..capacity]
            };
            let attempt = if zlib {
                self.decompressor.zlib_decompress(data, out)
            } else {
                self.decompressor.deflate_decompress(data, out)
            };
            match attempt {
                Ok(n) if fresh.is_empty() => return Ok(self.scratch[..n].to_vec()),
                Ok(n) => {
                    fresh.truncate(n);
                    fresh.shrink_to_fit();
                    return Ok(fresh);
                }
                Err(DecompressionError::InsufficientSpace) => {
                    if capacity >= self.max_output {
                        return Err(too_big(self.max_output));
                    }
                    capacity = capacity.saturating_mul(2).min(self.max_output);
                }
                Err(DecompressionError::BadData) => {
                    return Err(CodecError::new(
                        "corrupt or truncated compressed payload (invalid deflate data)",
                    ))
                }
            }
        }
    }

    fn gunzip(&self, data: &[u8]) -> Result<Vec<u8>, CodecError> {
        let mut out = Vec::with_capacity((data.len() * 4).min(self.max_output));
        let limit = u64::try_from(self.max_output)
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        flate2::read::MultiGzDecoder::new(data)
            .take(limit)
            .read_to_end(&mut out)
            .map_err(|e| CodecError::new(format!("corrupt gzip payload: {e}")))?;
        if out.len() > self.max_output {
            return Err(too_big(self.max_output));
        }
        Ok(out)
    }
}

fn too_big(max: usize) -> CodecError {
    CodecError::new(format!(
        "decompressed payload exceeds the maximum of {max} bytes"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
    use flate2::Compression;
    use std::io::Write;

    fn sample() -> Vec<u8> {
        (0..50_000u32)
            .flat_map(|i| format!("{{\"v\":{i}}}").into_bytes())
            .collect()
    }

    #[test]
    fn all_three_wrappings_inflate() {
        let data = sample();
        let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
        z.write_all(&data).unwrap();
        let mut r = DeflateEncoder::new(Vec::new(), Compression::default());
        r.write_all(&data).unwrap();
        let mut g = GzEncoder::new(Vec::new(), Compression::default());
        g.write_all(&data).unwrap();
        let mut inf = Inflater::new(1 << 30);
        for compressed in [
            z.finish().unwrap(),
            r.finish().unwrap(),
            g.finish().unwrap(),
        ] {
            assert_eq!(inf.inflate(&compressed).unwrap(), data);
        }
    }

    #[test]
    fn garbage_truncation_and_bombs_are_errors() {
        let data = sample();
        let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
        z.write_all(&data).unwrap();
        let full = z.finish().unwrap();
        let mut inf = Inflater::new(1 << 30);
        assert!(inf.inflate(&full[..full.len() / 2]).is_err());
        assert!(inf.inflate(b"\x78\x9c\xff\xff\xff\xff").is_err());
        let mut small = Inflater::new(1000);
        assert!(small
            .inflate(&full)
            .unwrap_err()
            .to_string()
            .contains("maximum"));
        // The decompressor is reusable after errors.
        assert_eq!(inf.inflate(&full).unwrap(), data);
    }
}
