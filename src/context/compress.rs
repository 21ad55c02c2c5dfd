//! How one piece of an entry is compressed: a whole entry in one call to
//! libdeflate, or a slice of a large file as part of one deflate stream
//! (zlib-rs, which can prime a slice with the bytes before it and end it with
//! a sync flush; libdeflate can do neither).
//!
//! Both are deterministic for a given input and library version (the versions
//! are pinned by Cargo.lock), so the archive bytes depend on the content only.

use crc32fast::Hasher as Crc;
use flate2::{Compress, Compression, FlushCompress, Status};
use libdeflater::{CompressionLvl, Compressor};

use super::zipfmt::Method;

/// libdeflate level for whole entries (every file up to 4 MiB). Measured on
/// both bench contexts (bench/README.md): level 1 writes 7–8% more bytes
/// than `zip -r` (level 6) and is the only one fast enough for 6x on a
/// context of small text files; level 2 costs 20% more CPU for 1.5% fewer
/// bytes.
pub(super) const WHOLE_LEVEL: i32 = 1;
/// zlib-rs level for the slices of large files: level 3 costs what level 2
/// does and compresses 4% better, level 6 takes 1.5x its CPU to save 4%, and
/// level 1 is 30% larger.
const SLICE_LEVEL: u32 = 3;

/// File name endings whose content is already compressed: stored as is,
/// because deflating them again costs time and gains nothing.
const STORED_EXTENSIONS: &[&str] = &[
    ".zip", ".gz", ".tgz", ".bz2", ".tbz2", ".xz", ".txz", ".zst", ".lz4", ".lzma", ".7z", ".rar",
    ".br", ".whl", ".jar", ".war", ".ear", ".egg", ".nupkg", ".apk", ".png", ".jpg", ".jpeg",
    ".gif", ".webp", ".avif", ".heic", ".mp3", ".mp4", ".m4a", ".m4v", ".mov", ".mkv", ".webm",
    ".ogg", ".opus", ".flac", ".woff", ".woff2", ".docx", ".xlsx", ".pptx",
];

pub(super) fn stored_by_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    STORED_EXTENSIONS.iter().any(|ext| lower.ends_with(ext))
}

/// What a piece became; its bytes are appended to the caller's buffer.
#[derive(Clone)]
pub(super) struct Packed {
    pub method: Method,
    pub crc: Crc,
    /// Input bytes.
    pub len: u64,
    /// Output bytes appended.
    pub size: usize,
}

/// One worker's compressors.
pub(super) struct Coders {
    /// Kept across entries: libdeflate carries nothing from one call to the next.
    whole: Compressor,
    /// Where libdeflate writes; only the result is copied out, so that what
    /// waits for the writer is the compressed size, not the input's. It never
    /// shrinks, so it is zeroed once.
    scratch: Vec<u8>,
}

impl Coders {
    pub fn new() -> Self {
        Coders {
            whole: Compressor::new(
                CompressionLvl::new(WHOLE_LEVEL).expect("a valid libdeflate level"),
            ),
            scratch: Vec::new(),
        }
    }

    /// A single-piece entry: deflated unless that does not make it smaller.
    pub fn whole(&mut self, name: &str, data: &[u8], out: &mut Vec<u8>) -> Packed {
        if data.is_empty() || stored_by_name(name) {
            return stored(data, out);
        }
        // Room for one byte less than the input: libdeflate fails rather than
        // write more, and then the entry is stored.
        let room = data.len() - 1;
        if self.scratch.len() < room {
            self.scratch.resize(room, 0);
        }
        match self.whole.deflate_compress(data, &mut self.scratch[..room]) {
            Ok(size) => {
                out.extend_from_slice(&self.scratch[..size]);
                Packed {
                    method: Method::Deflated,
                    crc: crc_of(data),
                    len: data.len() as u64,
                    size,
                }
            }
            Err(_) => stored(data, out),
        }
    }

    /// One slice of a large file, primed with `dict` (the bytes before it).
    /// Unless `last`, it ends with a sync flush (byte-aligned, no final block)
    /// so that the next slice can follow it in the same deflate stream.
    pub fn slice(
        &mut self,
        method: Method,
        dict: &[u8],
        data: &[u8],
        last: bool,
        out: &mut Vec<u8>,
    ) -> Packed {
        if method == Method::Stored {
            return stored(data, out);
        }
        let start = out.len();
        self.deflate_into(dict, data, last, out);
        Packed {
            method,
            crc: crc_of(data),
            len: data.len() as u64,
            size: out.len() - start,
        }
    }

    /// Whether a sliced file is worth deflating, judged on its first bytes:
    /// under 5% saved is not worth the time, here or when unpacking.
    pub fn worth_deflating(&mut self, probe: &[u8]) -> bool {
        let mut out = Vec::new();
        self.deflate_into(&[], probe, true, &mut out);
        out.len() * 100 <= probe.len() * 95
    }

    fn deflate_into(&mut self, dict: &[u8], input: &[u8], finish: bool, out: &mut Vec<u8>) {
        // A new stream state for every slice (about 50 µs against the ~10 ms
        // of compressing it): with one state per worker, reset between slices,
        // a slice's bytes were seen to depend on what that worker had
        // compressed before, and so on the thread schedule.
        let comp = &mut Compress::new(Compression::new(SLICE_LEVEL), false);
        if !dict.is_empty() {
            comp.set_dictionary(dict)
                .expect("a dictionary is accepted right after reset");
        }
        let flush = if finish {
            FlushCompress::Finish
        } else {
            FlushCompress::Sync
        };
        out.reserve(input.len() + input.len() / 64 + 256);
        let mut pos = 0;
        loop {
            let before = comp.total_in();
            let status = comp
                .compress_vec(&input[pos..], out, flush)
                .expect("deflate never fails on a healthy stream");
            pos += (comp.total_in() - before) as usize;
            let done = pos == input.len()
                && if finish {
                    status == Status::StreamEnd
                } else {
                    out.len() < out.capacity()
                };
            if done {
                return;
            }
            out.reserve(out.capacity() / 2 + 4096);
        }
    }
}

pub(super) fn stored(data: &[u8], out: &mut Vec<u8>) -> Packed {
    out.extend_from_slice(data);
    Packed {
        method: Method::Stored,
        crc: crc_of(data),
        len: data.len() as u64,
        size: data.len(),
    }
}

fn crc_of(data: &[u8]) -> Crc {
    let mut crc = Crc::new();
    crc.update(data);
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inflate(data: &[u8], len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 1);
        flate2::Decompress::new(false)
            .decompress_vec(data, &mut out, flate2::FlushDecompress::Finish)
            .unwrap();
        out
    }

    #[test]
    fn whole_entries_append_deflated_or_stored_bytes() {
        let mut c = Coders::new();
        let mut out = b"before".to_vec();
        let text = b"studio kernel image ".repeat(500);
        let p = c.whole("a.txt", &text, &mut out);
        assert_eq!(p.method, Method::Deflated);
        assert_eq!(p.len, text.len() as u64);
        assert_eq!(out.len(), 6 + p.size);
        assert_eq!(inflate(&out[6..], text.len()), text);
        assert_eq!(p.crc.finalize(), crc32fast::hash(&text));

        // No smaller when deflated, named as compressed, or empty: stored.
        for (name, data) in [
            ("b.bin", &[7u8, 200, 3][..]),
            ("c.gz", &text[..]),
            ("d", &[][..]),
        ] {
            let mut out = Vec::new();
            let p = c.whole(name, data, &mut out);
            assert_eq!((p.method, out.as_slice()), (Method::Stored, data), "{name}");
        }
    }

    #[test]
    fn a_slice_does_not_depend_on_what_was_compressed_before() {
        let text = b"sagemaker studio custom kernel image build ".repeat(30_000);
        let fresh = |data: &[u8]| {
            let mut out = Vec::new();
            Coders::new().slice(Method::Deflated, &[], data, false, &mut out);
            out
        };
        let mut c = Coders::new();
        let mut out = Vec::new();
        c.slice(Method::Deflated, &[], &text[7..], false, &mut out);
        assert!(c.worth_deflating(&text[..65_536]));
        let mut again = Vec::new();
        c.slice(Method::Deflated, &[], &text[..1 << 20], false, &mut again);
        assert!(again == fresh(&text[..1 << 20]));
    }

    #[test]
    fn slices_join_into_one_deflate_stream() {
        let mut c = Coders::new();
        let text = b"sagemaker studio custom kernel ".repeat(4000);
        let (a, b) = text.split_at(50_000);
        let mut out = Vec::new();
        c.slice(Method::Deflated, &[], a, false, &mut out);
        c.slice(Method::Deflated, &a[a.len() - 32_768..], b, true, &mut out);
        assert_eq!(inflate(&out, text.len()), text);
    }
}
