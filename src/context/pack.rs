//! The deterministic, parallel, streaming zip writer.
//!
//! Work is cut into tasks in archive order — runs of consecutive small entries
//! (up to 256 KiB or 256 entries), one file up to 4 MiB, or a 1 MiB slice of a
//! larger one — and compressed on every core. Batching small files matters: on
//! a context of thousands of small files the lock, the wake-up and the message
//! per file cost about as much as compressing it. Tasks are written strictly in
//! order, and a worker may only start one while the input bytes of the tasks
//! between it and the writer stay within a budget (a few MiB per thread), so
//! memory is bounded by the thread count, never by the context.
//!
//! Whole entries go through libdeflate in one call (see `compress`). A large
//! file's slices are independent raw-deflate streams joined with sync flushes
//! (as pigz does), each primed with the 32 KiB before it, so the result is one
//! valid deflate stream. Neither depends on the thread count or the batching.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Condvar, Mutex};

use crc32fast::Hasher as Crc;
use sha2::{Digest, Sha256};

use super::compress::{stored, stored_by_name, Coders, Packed};
use super::error::ContextError;
use super::report::PackReport;
use super::scan::{Entry, Listing, Source};
use super::zipfmt::{self, Limits, Method, Record};

/// Files up to this size are compressed in one piece (by libdeflate, which is
/// faster than zlib-rs at a better ratio but cannot slice); larger ones are
/// cut into `CHUNK` slices.
const WHOLE_MAX: u64 = 4 << 20;
/// Slice size for large files.
const CHUNK: u64 = 1 << 20;
/// Deflate's window: each slice is primed with this much of what precedes it.
const DICT: u64 = 32 << 10;
/// How much of a large file is test-compressed to decide whether to store it.
const PROBE: usize = 64 << 10;
/// Consecutive single-piece entries are handed out together up to this much
/// input (or `BATCH_ENTRIES` entries): one lock, one wake-up and one message
/// per batch rather than per file, which is most of the cost of a small file
/// after its compression.
const BATCH_BYTES: u64 = 256 << 10;
const BATCH_ENTRIES: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackOptions {
    /// Compression threads. The archive bytes do not depend on it.
    pub threads: usize,
}

impl Default for PackOptions {
    fn default() -> Self {
        PackOptions {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// Writes the archive for `listing` to `out` (which need not be seekable) on
/// all cores, and returns the report with the digest of the bytes written.
pub fn pack<W: Write>(listing: &Listing, out: W) -> Result<PackReport, ContextError> {
    pack_with(listing, out, &PackOptions::default())
}

pub fn pack_with<W: Write>(
    listing: &Listing,
    out: W,
    opts: &PackOptions,
) -> Result<PackReport, ContextError> {
    pack_inner(listing, out, opts, &Limits::STANDARD, "the output")
}

/// Packs into `path` through a temporary file in the same directory, renamed
/// into place on success: a failed run never leaves a truncated archive that
/// looks finished.
pub fn pack_to_file(listing: &Listing, path: &Path) -> Result<PackReport, ContextError> {
    let target = path.display().to_string();
    let werr = |source: io::Error| ContextError::Write {
        target: target.clone(),
        source,
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.partial"));
    let file = File::create(&tmp).map_err(werr)?;
    let result = pack_inner(
        listing,
        &file,
        &PackOptions::default(),
        &Limits::STANDARD,
        &target,
    )
    .and_then(|r| {
        file.sync_all().map_err(werr)?;
        fs::rename(&tmp, path).map_err(werr)?;
        Ok(r)
    });
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

pub(super) fn pack_inner<W: Write>(
    listing: &Listing,
    out: W,
    opts: &PackOptions,
    lim: &Limits,
    target: &str,
) -> Result<PackReport, ContextError> {
    let entries = listing.entries();
    let threads = opts.threads.max(1);
    // Room for every thread's piece, one waiting behind it, and the writer's.
    let budget = (threads as u64 * 2 + 2).min(64) * CHUNK;
    let dispatch = Mutex::new(Dispatcher {
        entries,
        entry: 0,
        chunk: 0,
        method: None,
        seq: 0,
        cost: 0,
    });
    let shared = Shared {
        written: Mutex::new(Progress::default()),
        advanced: Condvar::new(),
        abort: AtomicBool::new(false),
        budget,
    };
    let mut zip = ZipState {
        sink: Sink {
            out: BufWriter::with_capacity(256 << 10, out),
            sha: Sha256::new(),
            count: 0,
            target: target.to_string(),
        },
        entries,
        lim: *lim,
        records: Vec::with_capacity(entries.len()),
        current: None,
        buf: Vec::new(),
        stored: 0,
    };
    let (tx, rx) = mpsc::channel::<Msg>();
    std::thread::scope(|s| {
        for _ in 0..threads {
            let tx = tx.clone();
            let (dispatch, shared) = (&dispatch, &shared);
            s.spawn(move || worker(entries, dispatch, shared, tx));
        }
        drop(tx);
        let r = zip.run(rx, &shared);
        if r.is_err() {
            shared.abort.store(true, Ordering::SeqCst);
            let _guard = shared.written.lock().unwrap();
            shared.advanced.notify_all();
        }
        r
    })?;
    zip.finish(listing)
}

struct Shared {
    /// What the writer has written; workers wait on it to stay within budget.
    written: Mutex<Progress>,
    advanced: Condvar,
    abort: AtomicBool,
    /// Input bytes allowed between the writer and the end of a started piece.
    budget: u64,
}

#[derive(Debug, Default)]
struct Progress {
    /// Pieces written.
    seq: u64,
    /// Their summed cost.
    cost: u64,
}

/// Fixed cost per piece on top of its input bytes: bounds the number of tiny
/// pieces in flight too.
const PIECE_COST: u64 = 512;

/// A unit of work: one slice of a large file, or a run of whole entries.
#[derive(Debug, Clone, Copy)]
struct Task {
    seq: u64,
    /// Cost of this task (input bytes plus `PIECE_COST` per piece) and the
    /// running total up to and including it.
    cost: u64,
    cost_end: u64,
    /// Entries `entry..end`; a slice task has one.
    entry: usize,
    end: usize,
    chunk: u64,
    nchunks: u64,
    /// Decided up front for sliced files (all slices must agree); `None` lets a
    /// single-piece entry pick whichever is smaller.
    method: Option<Method>,
}

/// A task's output: one `Packed` per piece, their bytes back to back.
struct Batch {
    pieces: Vec<Packed>,
    data: Vec<u8>,
}

enum Msg {
    Done(Task, Batch),
    Failed(ContextError),
}

/// Hands out work in archive order.
struct Dispatcher<'a> {
    entries: &'a [Entry],
    entry: usize,
    chunk: u64,
    method: Option<Method>,
    seq: u64,
    cost: u64,
}

impl Dispatcher<'_> {
    fn next(&mut self, coders: &mut Coders) -> Result<Option<Task>, ContextError> {
        let Some(e) = self.entries.get(self.entry) else {
            return Ok(None);
        };
        let start = self.entry;
        let nchunks = chunks_of(e);
        let cost;
        if nchunks > 1 {
            if self.chunk == 0 {
                self.method = Some(choose_streamed_method(e, coders)?);
            }
            cost = PIECE_COST + (e.size - self.chunk * CHUNK).min(CHUNK);
        } else {
            let mut sum = 0;
            for e in &self.entries[start..] {
                let c = PIECE_COST + e.size;
                let n = self.entry - start;
                if chunks_of(e) > 1 || (n > 0 && (sum + c > BATCH_BYTES || n == BATCH_ENTRIES)) {
                    break;
                }
                sum += c;
                self.entry += 1;
            }
            cost = sum;
        }
        self.cost += cost;
        let task = Task {
            seq: self.seq,
            cost,
            cost_end: self.cost,
            entry: start,
            end: if nchunks > 1 { start + 1 } else { self.entry },
            chunk: self.chunk,
            nchunks,
            method: if nchunks > 1 { self.method } else { None },
        };
        self.seq += 1;
        if nchunks > 1 {
            self.chunk += 1;
            if self.chunk == nchunks {
                self.entry += 1;
                self.chunk = 0;
            }
        }
        Ok(Some(task))
    }
}

fn chunks_of(e: &Entry) -> u64 {
    match e.source {
        Source::File(_) if e.size > WHOLE_MAX => e.size.div_ceil(CHUNK),
        _ => 1,
    }
}

/// For a sliced file the method must be known before its first slice is
/// written: stored if its name says so or its first 64 KiB barely compress.
fn choose_streamed_method(e: &Entry, coders: &mut Coders) -> Result<Method, ContextError> {
    if stored_by_name(&e.name) {
        return Ok(Method::Stored);
    }
    let Source::File(path) = &e.source else {
        return Ok(Method::Deflated);
    };
    let mut probe = Vec::with_capacity(PROBE);
    File::open(path)
        .and_then(|f| f.take(PROBE as u64).read_to_end(&mut probe))
        .map_err(|err| ContextError::read(path, err))?;
    Ok(if coders.worth_deflating(&probe) {
        Method::Deflated
    } else {
        Method::Stored
    })
}

fn worker(
    entries: &[Entry],
    dispatch: &Mutex<Dispatcher<'_>>,
    shared: &Shared,
    tx: mpsc::Sender<Msg>,
) {
    let mut coders = Coders::new();
    let mut buf = Vec::new();
    while !shared.abort.load(Ordering::SeqCst) {
        let next = dispatch.lock().unwrap().next(&mut coders);
        let task = match next {
            Ok(Some(t)) => t,
            Ok(None) => return,
            Err(e) => {
                let _ = tx.send(Msg::Failed(e));
                return;
            }
        };
        {
            // The writer's next task always goes ahead: no deadlock.
            let mut written = shared.written.lock().unwrap();
            while task.seq != written.seq
                && task.cost_end > written.cost + shared.budget
                && !shared.abort.load(Ordering::SeqCst)
            {
                written = shared.advanced.wait(written).unwrap();
            }
        }
        if shared.abort.load(Ordering::SeqCst) {
            return;
        }
        let msg = match process(entries, &task, &mut coders, &mut buf) {
            Ok(b) => Msg::Done(task, b),
            Err(e) => Msg::Failed(e),
        };
        if tx.send(msg).is_err() {
            return;
        }
    }
}

fn process(
    entries: &[Entry],
    t: &Task,
    coders: &mut Coders,
    buf: &mut Vec<u8>,
) -> Result<Batch, ContextError> {
    let mut batch = Batch {
        pieces: Vec::with_capacity(t.end - t.entry),
        data: Vec::new(),
    };
    if t.nchunks > 1 {
        let e = &entries[t.entry];
        let Source::File(path) = &e.source else {
            unreachable!("only files are sliced")
        };
        let p = slice(e, path, t, coders, buf, &mut batch.data)?;
        batch.pieces.push(p);
        return Ok(batch);
    }
    for e in &entries[t.entry..t.end] {
        let p = match &e.source {
            Source::Dir => stored(&[], &mut batch.data),
            Source::Symlink(target) => stored(target, &mut batch.data),
            Source::Bytes(data) => coders.whole(&e.name, data, &mut batch.data),
            Source::File(path) => {
                let data = read_whole(path, e.size, buf)?;
                coders.whole(&e.name, data, &mut batch.data)
            }
        };
        batch.pieces.push(p);
    }
    Ok(batch)
}

/// Reads a file that must still be `size` bytes long into `buf`, in one
/// read for a small file: asking for one byte more than `size` shows a file
/// that grew (the buffer fills) or shrank (the read comes up short), and a
/// regular file's read comes up short only at its end.
fn read_whole<'b>(
    path: &PathBuf,
    size: u64,
    buf: &'b mut Vec<u8>,
) -> Result<&'b [u8], ContextError> {
    let mut f = File::open(path).map_err(|err| ContextError::read(path, err))?;
    let want = size as usize + 1;
    // Never shrunk, so it is zeroed once, not once per file.
    if buf.len() < want {
        buf.resize(want, 0);
    }
    let buf = &mut buf[..want];
    let mut filled = 0;
    while (filled as u64) < size {
        match f.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(ContextError::read(path, err)),
        }
    }
    if filled as u64 != size {
        return Err(ContextError::FileChanged { path: path.clone() });
    }
    Ok(&buf[..filled])
}

fn slice(
    e: &Entry,
    path: &PathBuf,
    t: &Task,
    coders: &mut Coders,
    buf: &mut Vec<u8>,
    out: &mut Vec<u8>,
) -> Result<Packed, ContextError> {
    let method = t.method.unwrap_or(Method::Deflated);
    let last = t.chunk + 1 == t.nchunks;
    let start = t.chunk * CHUNK;
    let end = (start + CHUNK).min(e.size);
    let from = if method == Method::Deflated {
        start.saturating_sub(DICT)
    } else {
        start
    };
    let changed = || ContextError::FileChanged { path: path.clone() };
    let mut f = File::open(path).map_err(|err| ContextError::read(path, err))?;
    let n = (end - from) as usize;
    if buf.len() < n {
        buf.resize(n, 0);
    }
    let buf = &mut buf[..n];
    f.seek(SeekFrom::Start(from))
        .and_then(|_| f.read_exact(buf))
        .map_err(|err| match err.kind() {
            io::ErrorKind::UnexpectedEof => changed(),
            _ => ContextError::read(path, err),
        })?;
    if last
        && f.read(&mut [0u8; 1])
            .map_err(|err| ContextError::read(path, err))?
            != 0
    {
        return Err(changed());
    }
    let (dict, data) = buf.split_at((start - from) as usize);
    Ok(coders.slice(method, dict, data, last, out))
}

/// The output: counts and hashes every byte on its way out.
struct Sink<W: Write> {
    out: BufWriter<W>,
    sha: Sha256,
    count: u64,
    target: String,
}

impl<W: Write> Sink<W> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), ContextError> {
        self.out
            .write_all(bytes)
            .map_err(|source| ContextError::Write {
                target: self.target.clone(),
                source,
            })?;
        self.sha.update(bytes);
        self.count += bytes.len() as u64;
        Ok(())
    }
}

struct ZipState<'a, W: Write> {
    sink: Sink<W>,
    entries: &'a [Entry],
    lim: Limits,
    records: Vec<Record>,
    /// The sliced entry being written: its record and running CRC.
    current: Option<(Record, Crc)>,
    buf: Vec<u8>,
    stored: u64,
}

impl<W: Write> ZipState<'_, W> {
    fn run(&mut self, rx: mpsc::Receiver<Msg>, shared: &Shared) -> Result<(), ContextError> {
        let mut pending: BTreeMap<u64, (Task, Batch)> = BTreeMap::new();
        let mut next = 0u64;
        let mut cost = 0u64;
        for msg in rx {
            match msg {
                Msg::Failed(e) => return Err(e),
                Msg::Done(t, b) => {
                    pending.insert(t.seq, (t, b));
                }
            }
            let before = next;
            while let Some((t, b)) = pending.remove(&next) {
                let mut at = 0;
                for (i, p) in b.pieces.iter().enumerate() {
                    self.write_piece(t.entry + i, &t, p, &b.data[at..at + p.size])?;
                    at += p.size;
                }
                next += 1;
                cost += t.cost;
            }
            if next != before {
                *shared.written.lock().unwrap() = Progress { seq: next, cost };
                shared.advanced.notify_all();
            }
        }
        if self.records.len() != self.entries.len() {
            return Err(ContextError::Write {
                target: self.sink.target.clone(),
                source: io::Error::other("a compression worker stopped early"),
            });
        }
        Ok(())
    }

    fn write_piece(
        &mut self,
        entry: usize,
        t: &Task,
        p: &Packed,
        data: &[u8],
    ) -> Result<(), ContextError> {
        let e = &self.entries[entry];
        let flags = zipfmt::name_flags(&e.name);
        let lim = self.lim;
        self.buf.clear();
        if t.nchunks == 1 {
            let mut rec = Record {
                flags,
                method: p.method,
                crc: p.crc.clone().finalize(),
                compressed: data.len() as u64,
                uncompressed: p.len,
                offset: self.sink.count,
                mode: mode_of(e),
                zip64_local: false,
            };
            rec.zip64_local = rec.compressed >= lim.u32_limit || rec.uncompressed >= lim.u32_limit;
            zipfmt::local_header(&mut self.buf, &e.name, &rec, &lim);
            self.sink.put(&self.buf)?;
            self.sink.put(data)?;
            self.finish_entry(rec);
            return Ok(());
        }
        if t.chunk == 0 {
            let rec = Record {
                flags: flags | zipfmt::FLAG_DATA_DESCRIPTOR,
                method: p.method,
                crc: 0,
                compressed: 0,
                uncompressed: 0,
                offset: self.sink.count,
                mode: mode_of(e),
                zip64_local: e.size >= lim.zip64_stream_size,
            };
            zipfmt::local_header_streamed(&mut self.buf, &e.name, flags, p.method, rec.zip64_local);
            self.sink.put(&self.buf)?;
            self.buf.clear();
            self.current = Some((rec, Crc::new()));
        }
        self.sink.put(data)?;
        let (rec, crc) = self.current.as_mut().expect("slice 0 opened the entry");
        rec.compressed += data.len() as u64;
        rec.uncompressed += p.len;
        crc.combine(&p.crc);
        if t.chunk + 1 == t.nchunks {
            let (mut rec, crc) = self.current.take().expect("entry is open");
            rec.crc = crc.finalize();
            if rec.uncompressed != e.size {
                let path = match &e.source {
                    Source::File(p) => p.clone(),
                    _ => e.name.clone().into(),
                };
                return Err(ContextError::FileChanged { path });
            }
            zipfmt::data_descriptor(&mut self.buf, &rec);
            self.sink.put(&self.buf)?;
            self.finish_entry(rec);
        }
        Ok(())
    }

    fn finish_entry(&mut self, rec: Record) {
        if rec.method == Method::Stored
            && !matches!(self.entries[self.records.len()].source, Source::Dir)
        {
            self.stored += 1;
        }
        self.records.push(rec);
    }

    fn finish(mut self, listing: &Listing) -> Result<PackReport, ContextError> {
        let cd_offset = self.sink.count;
        for (rec, e) in self.records.iter().zip(self.entries) {
            self.buf.clear();
            zipfmt::central_header(&mut self.buf, &e.name, rec, &self.lim);
            self.sink.put(&self.buf)?;
        }
        let cd_size = self.sink.count - cd_offset;
        self.buf.clear();
        zipfmt::end_records(
            &mut self.buf,
            self.records.len() as u64,
            cd_offset,
            cd_size,
            &self.lim,
        );
        self.sink.put(&self.buf)?;
        self.sink
            .out
            .flush()
            .map_err(|source| ContextError::Write {
                target: self.sink.target.clone(),
                source,
            })?;
        Ok(PackReport {
            scan: listing.report(),
            entries: self.records.len() as u64,
            stored: self.stored,
            bytes_out: self.sink.count,
            digest: format!("sha256:{}", hex::encode(self.sink.sha.finalize())),
        })
    }
}

/// Normalised modes: only "executable or not" survives from the disk.
fn mode_of(e: &Entry) -> u32 {
    match e.source {
        Source::Dir => 0o040755,
        Source::Symlink(_) => 0o120777,
        _ if e.executable => 0o100755,
        _ => 0o100644,
    }
}
