//! Property tests for the codecs that read peer bytes: seeded random and mutated inputs, a
//! thousand cases each (quick enough for every `cargo test`; `scripts/fuzz.sh` runs millions
//! through the Python bindings). A small xorshift generator keeps this free of test-only
//! crates; a failing case prints its seed and case number, which replay it exactly.

use std::io::Write;

use ferrolink_core::idigi::codec::{
    self, Decoded, DecoderLimits, FrameDecoder, Message, COMPRESSION_NONE, COMPRESSION_ZLIB,
    FORMAT_JSON,
};
use ferrolink_core::idigi::inflate::Inflater;
use ferrolink_core::{hexonet, jwt, myqtthub};

const CASES: u64 = 1000;

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform-enough pick from `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let len = self.below(max + 1);
        (0..len).map(|_| self.next() as u8).collect()
    }

    /// A corpus entry with a few random edits (flip, insert, delete, duplicate, truncate).
    fn mutate(&mut self, corpus: &[Vec<u8>]) -> Vec<u8> {
        let mut data = corpus[self.below(corpus.len())].clone();
        for _ in 0..1 + self.below(6) {
            let at = self.below(data.len() + 1);
            match self.below(5) {
                0 if !data.is_empty() => {
                    let i = at % data.len();
                    data[i] ^= 1 + self.below(255) as u8;
                }
                1 => {
                    let extra = self.bytes(8);
                    data.splice(at..at, extra);
                }
                2 => {
                    let end = (at + 1 + self.below(16)).min(data.len());
                    data.drain(at..end);
                }
                3 => {
                    let end = (at + 1 + self.below(64)).min(data.len());
                    let copy = data[at..end].to_vec();
                    data.splice(at..at, copy);
                }
                _ => data.truncate(at),
            }
        }
        data
    }

    fn input(&mut self, corpus: &[Vec<u8>]) -> Vec<u8> {
        if self.below(4) == 0 {
            self.bytes(300)
        } else {
            self.mutate(corpus)
        }
    }
}

/// Run `case` for every case number; a panic names the case to replay.
fn cases(name: &str, mut case: impl FnMut(&mut Rng)) {
    for n in 0..CASES {
        let mut rng = Rng::new(n + 1);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| case(&mut rng)));
        assert!(
            outcome.is_ok(),
            "{name}: case {n} failed (Rng::new({}))",
            n + 1
        );
    }
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(data).unwrap();
    z.finish().unwrap()
}

fn idigi_corpus() -> Vec<Vec<u8>> {
    let doc = br#"{"Document":{"Msg":{"topic":"42/DataPoint/x","value":1}}}"#;
    let mut stream = codec::encode_connect_response(200, 1).to_vec();
    stream.extend(codec::encode_publish(1, 1, COMPRESSION_ZLIB, FORMAT_JSON, doc).unwrap());
    stream.extend(codec::encode_publish(2, 1, COMPRESSION_NONE, 0, b"<Document/>").unwrap());
    stream.extend(codec::encode_ack(2, 200));
    stream.extend([0, 9, 0, 0, 0, 2, 0xaa, 0xbb]);
    let bomb = zlib(&vec![0; 1 << 20]);
    vec![
        stream,
        codec::encode_connect_request("jürgen", "pw", 7).unwrap(),
        codec::encode_publish_raw(9, 1, COMPRESSION_ZLIB, FORMAT_JSON, &bomb).unwrap(),
    ]
}

const SMALL: DecoderLimits = DecoderLimits {
    max_frame: 1 << 20,
    max_inflated_frame: 2 << 20,
    max_inflated_per_feed: 3 << 20,
};

/// Feed `data` in pieces cut at `cuts`, draining the backlog; checks the per-feed budget.
fn decode_in_pieces(data: &[u8], cuts: &[usize]) -> Vec<Decoded> {
    let mut decoder = FrameDecoder::new(SMALL);
    let mut all = Vec::new();
    let mut start = 0;
    for &cut in cuts.iter().chain([data.len()].iter()) {
        let cut = cut.clamp(start, data.len());
        let mut out = Vec::new();
        decoder.feed(&data[start..cut], &mut out);
        all.append(&mut out);
        start = cut;
    }
    while decoder.backlog() > 0 {
        let mut out = Vec::new();
        decoder.feed(&[], &mut out);
        let inflated: usize = out
            .iter()
            .map(|d| match d {
                Ok(Message::Publish(p)) if p.compression == COMPRESSION_ZLIB => p.payload.len(),
                _ => 0,
            })
            .sum();
        assert!(inflated <= SMALL.max_inflated_per_feed.max(SMALL.max_inflated_frame));
        all.append(&mut out);
    }
    assert!(decoder.buffered() <= data.len());
    // After a stream-level error every non-empty feed repeats it: count it once.
    all.retain(|d| !matches!(d, Err(e) if e.message.starts_with("stream unusable")));
    all
}

#[test]
fn idigi_decoder_any_input_any_cut_same_frames() {
    let corpus = idigi_corpus();
    cases("idigi", |rng| {
        let data = rng.input(&corpus);
        let whole = decode_in_pieces(&data, &[]);
        let mut cuts: Vec<usize> = (0..rng.below(5))
            .map(|_| rng.below(data.len() + 1))
            .collect();
        cuts.sort_unstable();
        assert_eq!(decode_in_pieces(&data, &cuts), whole);
        for item in &whole {
            if let Ok(Message::Publish(p)) = item {
                assert!(p.payload.len() <= SMALL.max_inflated_frame);
            }
        }
    });
}

#[test]
fn inflater_never_exceeds_its_cap() {
    let corpus = vec![zlib(b"hello hello hello"), zlib(&[7; 70_000])];
    let mut inflater = Inflater::new();
    cases("inflate", |rng| {
        let data = rng.input(&corpus);
        if let Ok(out) = inflater.inflate(&data, 50_000) {
            assert!(out.len() <= 50_000);
        }
    });
}

#[test]
fn hexonet_parser_takes_any_text() {
    let corpus = vec![
        b"[RESPONSE]\nCODE=200\nDESCRIPTION=ok\nPROPERTY[DOMAIN][0]=a.com\nTOTAL=1\nEOF\n".to_vec(),
        b"[RESPONSE]\r\ncode = 545\r\nPROPERTY[X][7]=\xc3\xa9\r\nEOF".to_vec(),
    ];
    cases("hexonet", |rng| {
        let data = rng.input(&corpus);
        let _ = hexonet::parse(&String::from_utf8_lossy(&data));
        let _ = hexonet::parse_text(&data[..]);
    });
}

#[test]
fn myqtthub_pull_decoder_takes_any_bytes() {
    let corpus = vec![
        br#"[{"topic":"a/b","payload":"aGVsbG8=","qos":1},{"topic":"c","payload":""}]"#.to_vec(),
        b"[]".to_vec(),
    ];
    cases("pull", |rng| {
        let _ = myqtthub::decode_pull(&rng.input(&corpus));
    });
}

#[test]
fn jwt_decoder_takes_any_token() {
    let token = jwt::encode_hs256(r#"{"uuid":"d1","exp":99999999999}"#, b"k").unwrap();
    let corpus = vec![token.into_bytes()];
    cases("jwt", |rng| {
        let data = rng.input(&corpus);
        let _ = jwt::decode_hs256(&String::from_utf8_lossy(&data), b"k");
    });
}
