//! Payload decompression for PublishMessages.
//!
//! The protocol says "zlib"; Digi's Java client also accepts raw deflate and the REST keyword is
//! `gzip`, so the framing is sniffed from the first bytes. Each payload arrives whole, so zlib and
//! raw deflate go through libdeflate's whole-buffer decoder (1.6-2x zlib's speed on the
//! literal-heavy JSON pushes carry) into a reused scratch buffer; gzip (possibly multi-member)
//! keeps flate2's streaming reader.
//!
//! [`inflate_all`] inflates one read's worth of payloads, across rayon's pool when there is
//! enough of it: inflating is nearly all of a compressed stream's decode cost, and one core
//! tops out well below the rate a push connection can deliver.

use std::cell::RefCell;
use std::io::Read;
use std::sync::atomic::{AtomicU32, Ordering};

use libdeflater::{DecompressionError, Decompressor};
use rayon::prelude::*;

use super::codec::CodecError;

/// Largest output inflated into the reused scratch buffer (bigger ones get their own buffer).
const SCRATCH_MAX: usize = 1 << 20;

/// Below this many compressed bytes a batch is inflated on the calling thread: handing work to
/// the pool and back costs tens of microseconds, and below about 16 KiB (some 100 us of
/// inflating) that ate the gain, or more, in measurements.
const PARALLEL_MIN_BYTES: usize = 16 << 10;

/// Smallest share of compressed bytes per pool task, so tasks stay worth their scheduling.
const TASK_MIN_BYTES: usize = 8 << 10;

/// Reusable inflater: libdeflate's state and an output scratch buffer.
pub struct Inflater {
    decompressor: Decompressor,
    scratch: Vec<u8>,
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

impl Default for Inflater {
    fn default() -> Self {
        Self::new()
    }
}

impl Inflater {
    pub fn new() -> Self {
        Inflater {
            decompressor: Decompressor::new(),
            scratch: Vec::new(),
        }
    }

    /// Inflate one whole payload; more than `max_output` bytes is an error (decompression bombs).
    pub fn inflate(&mut self, data: &[u8], max_output: usize) -> Result<Vec<u8>, CodecError> {
        let zlib = match sniff(data) {
            Wrapping::Gzip => return gunzip(data, max_output),
            Wrapping::Zlib => true,
            Wrapping::RawDeflate => false,
        };
        // Typical JSON compresses 2-4x: start there and double on "insufficient space" (each
        // retry restarts, so the total work stays within twice the final attempt's).
        let mut capacity = (data.len() * 4).clamp(64, max_output.max(64));
        loop {
            // Small outputs reuse the scratch buffer; big ones get a fresh zeroed allocation
            // (calloc: pages never written cost nothing) that is returned without a copy.
            let mut fresh = Vec::new();
            let out = if capacity > SCRATCH_MAX {
                zeroed(&mut fresh, capacity)?;
                &mut fresh[..]
            } else {
                if self.scratch.len() < capacity {
                    zeroed(&mut self.scratch, capacity)?;
                }
                &mut self.scratch[..capacity]
            };
            let attempt = if zlib {
                self.decompressor.zlib_decompress(data, out)
            } else {
                self.decompressor.deflate_decompress(data, out)
            };
            match attempt {
                Ok(n) if fresh.is_empty() => return copied(&self.scratch[..n]),
                Ok(n) => {
                    fresh.truncate(n);
                    fresh.shrink_to_fit();
                    return Ok(fresh);
                }
                Err(DecompressionError::InsufficientSpace) => {
                    if capacity >= max_output {
                        return Err(too_big(max_output));
                    }
                    capacity = capacity.saturating_mul(2).min(max_output);
                }
                Err(DecompressionError::BadData) => {
                    return Err(CodecError::new(
                        "corrupt or truncated compressed payload (invalid deflate data)",
                    ))
                }
            }
        }
    }
}

/// Grow `buf` to `len` zeroed bytes, or report that the memory is not there.
fn zeroed(buf: &mut Vec<u8>, len: usize) -> Result<(), CodecError> {
    buf.try_reserve_exact(len.saturating_sub(buf.len()))
        .map_err(|_| out_of_memory(len))?;
    buf.resize(len, 0);
    Ok(())
}

/// `data` in a new vector, or an error if the memory is not there.
pub fn copied(data: &[u8]) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::new();
    out.try_reserve_exact(data.len())
        .map_err(|_| out_of_memory(data.len()))?;
    out.extend_from_slice(data);
    Ok(out)
}

/// An allocation sized by peer input failed: an error for that payload, never an abort.
pub fn out_of_memory(bytes: usize) -> CodecError {
    CodecError::new(format!("out of memory: cannot allocate {bytes} bytes"))
}

/// Most bytes `compressed` bytes of deflate data (any wrapping) can inflate to: deflate's
/// densest code spends two bits on a 258-byte match, 1032:1, plus slack for a final block.
pub fn inflated_bound(compressed: usize) -> usize {
    compressed.saturating_mul(1032).saturating_add(1024)
}

fn gunzip(data: &[u8], max_output: usize) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::new();
    let guess = (data.len() * 4).min(max_output);
    out.try_reserve_exact(guess)
        .map_err(|_| out_of_memory(guess))?;
    let limit = u64::try_from(max_output)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    flate2::read::MultiGzDecoder::new(data)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| CodecError::new(format!("corrupt gzip payload: {e}")))?;
    if out.len() > max_output {
        return Err(too_big(max_output));
    }
    Ok(out)
}

/// The process that may use rayon's pool (0: none yet).
///
/// The pool does not survive `fork()`: its threads stay in the parent, and a child that handed
/// it work would wait forever. Python programs fork after doing work (multiprocessing's default
/// on Linux, gunicorn `--preload`, Celery), so a forked child of a process that used the pool
/// inflates on its own thread instead.
static POOL_OWNER: AtomicU32 = AtomicU32::new(0);

fn pool_is_ours() -> bool {
    let me = std::process::id();
    match POOL_OWNER.compare_exchange(0, me, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => true,
        Err(owner) => owner == me,
    }
}

thread_local! {
    /// Each pool worker keeps one inflater, so its scratch buffer and state are reused.
    static WORKER_INFLATER: RefCell<Inflater> = RefCell::new(Inflater::new());
}

fn inflate_on_worker(data: &[u8], max_output: usize) -> Result<Vec<u8>, CodecError> {
    WORKER_INFLATER
        .try_with(|cell| match cell.try_borrow_mut() {
            Ok(mut inflater) => inflater.inflate(data, max_output),
            // Only reachable if a worker re-entered while inflating: use a throwaway one.
            Err(_) => Inflater::new().inflate(data, max_output),
        })
        .unwrap_or_else(|_| Inflater::new().inflate(data, max_output))
}

/// Inflate every payload in `inputs`, results in the same order, each with its own outcome.
///
/// Big enough batches go to the current rayon pool (the global one unless the caller runs in
/// another), in tasks of at least [`TASK_MIN_BYTES`]; small ones, a one-thread pool, or a
/// process forked from one that used the pool, use `inline` on the calling thread.
pub fn inflate_all<T: AsRef<[u8]> + Sync>(
    inline: &mut Inflater,
    inputs: &[T],
    max_output: usize,
) -> Vec<Result<Vec<u8>, CodecError>> {
    let bytes: usize = inputs.iter().map(|i| i.as_ref().len()).sum();
    if inputs.len() < 2
        || bytes < PARALLEL_MIN_BYTES
        || !pool_is_ours()
        || rayon::current_num_threads() < 2
    {
        return inputs
            .iter()
            .map(|i| inline.inflate(i.as_ref(), max_output))
            .collect();
    }
    let per_task = TASK_MIN_BYTES.div_ceil((bytes / inputs.len()).max(1));
    inputs
        .par_iter()
        .with_min_len(per_task)
        .map(|i| inflate_on_worker(i.as_ref(), max_output))
        .collect()
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
        let mut inf = Inflater::new();
        for compressed in [
            z.finish().unwrap(),
            r.finish().unwrap(),
            g.finish().unwrap(),
        ] {
            assert_eq!(inf.inflate(&compressed, 1 << 30).unwrap(), data);
        }
    }

    #[test]
    fn garbage_truncation_and_bombs_are_errors() {
        let data = sample();
        let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
        z.write_all(&data).unwrap();
        let full = z.finish().unwrap();
        let mut inf = Inflater::new();
        assert!(inf.inflate(&full[..full.len() / 2], 1 << 30).is_err());
        assert!(inf.inflate(b"\x78\x9c\xff\xff\xff\xff", 1 << 30).is_err());
        assert!(inf
            .inflate(&full, 1000)
            .unwrap_err()
            .to_string()
            .contains("maximum"));
        // The decompressor is reusable after errors.
        assert_eq!(inf.inflate(&full, 1 << 30).unwrap(), data);
    }

    #[test]
    fn inflate_all_keeps_order_and_errors_per_payload() {
        let docs: Vec<Vec<u8>> = (0..200u32)
            .map(|i| {
                format!(
                    "{{\"n\":{i},\"pad\":\"{}\"}}",
                    "ab".repeat(200 + i as usize)
                )
                .into_bytes()
            })
            .collect();
        let mut inputs: Vec<Vec<u8>> = docs
            .iter()
            .map(|d| {
                let mut z = ZlibEncoder::new(Vec::new(), Compression::fast());
                z.write_all(d).unwrap();
                z.finish().unwrap()
            })
            .collect();
        inputs[77] = b"\x78\x9c\xff\xff".to_vec();
        inputs[78].clear();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(4)
            .build()
            .unwrap();
        let mut inline = Inflater::new();
        // Sized so payloads past about 600 bytes go over the cap; parallel and inline agree.
        let parallel = pool.install(|| inflate_all(&mut inline, &inputs, 600));
        let one_by_one: Vec<_> = inputs.iter().map(|i| inline.inflate(i, 600)).collect();
        assert_eq!(parallel, one_by_one);
        for (i, result) in parallel.iter().enumerate() {
            match (i, result) {
                (77 | 78, Err(e)) => assert!(e.message.contains("invalid deflate"), "{e}"),
                (_, Ok(out)) => assert_eq!(out, &docs[i]),
                (_, Err(e)) => {
                    assert!(docs[i].len() > 600, "{i}: {e}");
                    assert!(e.message.contains("maximum"), "{e}");
                }
            }
        }
        assert!(inflate_all(&mut inline, &Vec::<Vec<u8>>::new(), 600).is_empty());
    }
}
