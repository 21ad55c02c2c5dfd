//! ZIP records (APPNOTE 6.3), written by hand so that every byte is ours to
//! fix: no timestamps beyond the DOS epoch, no uid/gid or extended-time extra
//! fields, ZIP64 fields only where a value does not fit.

/// 1980-01-01 00:00:00, the earliest DOS time: the same bytes whatever the mtimes.
const DOS_TIME: u16 = 0;
const DOS_DATE: u16 = (1 << 5) | 1;
/// Unix (3) host, spec version 3.0: tells unzip to honour the mode bits,
/// which is how symlinks and exec bits survive extraction.
const MADE_BY: u16 = (3 << 8) | 30;

pub(super) const FLAG_DATA_DESCRIPTOR: u16 = 1 << 3;
pub(super) const FLAG_UTF8: u16 = 1 << 11;

const SIG_LOCAL: u32 = 0x0403_4b50;
const SIG_DESCRIPTOR: u32 = 0x0807_4b50;
const SIG_CENTRAL: u32 = 0x0201_4b50;
const SIG_EOCD64: u32 = 0x0606_4b50;
const SIG_LOCATOR64: u32 = 0x0706_4b50;
const SIG_EOCD: u32 = 0x0605_4b50;
const ZIP64_EXTRA: u16 = 0x0001;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Method {
    Stored,
    Deflated,
}

impl Method {
    fn code(self) -> u16 {
        match self {
            Method::Stored => 0,
            Method::Deflated => 8,
        }
    }
}

/// Where ZIP64 kicks in. Only tests lower these, to exercise the ZIP64 paths
/// without writing 4 GiB.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// A 32-bit field holds values strictly below this.
    pub u32_limit: u64,
    /// The 16-bit entry counts hold values strictly below this.
    pub u16_limit: u64,
    /// Streamed entries at least this large get a ZIP64 local header and data
    /// descriptor up front (their compressed size is unknown when the header
    /// is written; the margin covers deflate's worst-case expansion).
    pub zip64_stream_size: u64,
}

impl Limits {
    pub const STANDARD: Limits = Limits {
        u32_limit: 0xFFFF_FFFF,
        u16_limit: 0xFFFF,
        zip64_stream_size: 0xF000_0000,
    };
}

/// Everything the central directory needs about one entry.
#[derive(Debug, Clone)]
pub(super) struct Record {
    pub flags: u16,
    pub method: Method,
    pub crc: u32,
    pub compressed: u64,
    pub uncompressed: u64,
    pub offset: u64,
    /// Unix mode including the file type bits (S_IFREG/S_IFDIR/S_IFLNK).
    pub mode: u32,
    /// The local header carried a ZIP64 extra field.
    pub zip64_local: bool,
}

fn put16(b: &mut Vec<u8>, v: u16) {
    b.extend_from_slice(&v.to_le_bytes());
}
fn put32(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_le_bytes());
}
fn put64(b: &mut Vec<u8>, v: u64) {
    b.extend_from_slice(&v.to_le_bytes());
}

fn version_needed(method: Method, zip64: bool) -> u16 {
    if zip64 {
        45
    } else if method == Method::Deflated {
        20
    } else {
        10
    }
}

pub(super) fn name_flags(name: &str) -> u16 {
    if name.is_ascii() {
        0
    } else {
        FLAG_UTF8
    }
}

/// Local header for an entry whose CRC and sizes are known.
pub(super) fn local_header(b: &mut Vec<u8>, name: &str, rec: &Record, lim: &Limits) {
    let zip64 = rec.compressed >= lim.u32_limit || rec.uncompressed >= lim.u32_limit;
    local_common(b, rec.flags, rec.method, zip64);
    put32(b, rec.crc);
    if zip64 {
        put32(b, u32::MAX);
        put32(b, u32::MAX);
    } else {
        put32(b, rec.compressed as u32);
        put32(b, rec.uncompressed as u32);
    }
    put16(b, name.len() as u16);
    put16(b, if zip64 { 20 } else { 0 });
    b.extend_from_slice(name.as_bytes());
    if zip64 {
        put16(b, ZIP64_EXTRA);
        put16(b, 16);
        put64(b, rec.uncompressed);
        put64(b, rec.compressed);
    }
}

/// Local header for an entry streamed in pieces: CRC and sizes follow in a
/// data descriptor (flag bit 3), so the output never needs to seek back.
pub(super) fn local_header_streamed(
    b: &mut Vec<u8>,
    name: &str,
    flags: u16,
    method: Method,
    zip64: bool,
) {
    local_common(b, flags | FLAG_DATA_DESCRIPTOR, method, zip64);
    put32(b, 0);
    let size = if zip64 { u32::MAX } else { 0 };
    put32(b, size);
    put32(b, size);
    put16(b, name.len() as u16);
    put16(b, if zip64 { 20 } else { 0 });
    b.extend_from_slice(name.as_bytes());
    if zip64 {
        put16(b, ZIP64_EXTRA);
        put16(b, 16);
        put64(b, 0);
        put64(b, 0);
    }
}

fn local_common(b: &mut Vec<u8>, flags: u16, method: Method, zip64: bool) {
    put32(b, SIG_LOCAL);
    put16(b, version_needed(method, zip64));
    put16(b, flags);
    put16(b, method.code());
    put16(b, DOS_TIME);
    put16(b, DOS_DATE);
}

pub(super) fn data_descriptor(b: &mut Vec<u8>, rec: &Record) {
    put32(b, SIG_DESCRIPTOR);
    put32(b, rec.crc);
    if rec.zip64_local {
        put64(b, rec.compressed);
        put64(b, rec.uncompressed);
    } else {
        put32(b, rec.compressed as u32);
        put32(b, rec.uncompressed as u32);
    }
}

pub(super) fn central_header(b: &mut Vec<u8>, name: &str, rec: &Record, lim: &Limits) {
    let big_u = rec.uncompressed >= lim.u32_limit;
    let big_c = rec.compressed >= lim.u32_limit;
    let big_o = rec.offset >= lim.u32_limit;
    let mut extra = Vec::new();
    if big_u {
        put64(&mut extra, rec.uncompressed);
    }
    if big_c {
        put64(&mut extra, rec.compressed);
    }
    if big_o {
        put64(&mut extra, rec.offset);
    }
    let zip64 = !extra.is_empty() || rec.zip64_local;
    let field = |big: bool, v: u64| if big { u32::MAX } else { v as u32 };

    put32(b, SIG_CENTRAL);
    put16(b, MADE_BY);
    put16(b, version_needed(rec.method, zip64));
    put16(b, rec.flags);
    put16(b, rec.method.code());
    put16(b, DOS_TIME);
    put16(b, DOS_DATE);
    put32(b, rec.crc);
    put32(b, field(big_c, rec.compressed));
    put32(b, field(big_u, rec.uncompressed));
    put16(b, name.len() as u16);
    put16(
        b,
        if extra.is_empty() {
            0
        } else {
            extra.len() as u16 + 4
        },
    );
    put16(b, 0); // comment length
    put16(b, 0); // disk number start
    put16(b, 0); // internal attributes
    let dos_dir = if rec.mode & 0o170000 == 0o040000 {
        0x10
    } else {
        0
    };
    put32(b, (rec.mode << 16) | dos_dir);
    put32(b, field(big_o, rec.offset));
    b.extend_from_slice(name.as_bytes());
    if !extra.is_empty() {
        put16(b, ZIP64_EXTRA);
        put16(b, extra.len() as u16);
        b.extend_from_slice(&extra);
    }
}

/// End of central directory, preceded by the ZIP64 record and locator when a
/// count, size or offset does not fit its classic field.
pub(super) fn end_records(
    b: &mut Vec<u8>,
    entries: u64,
    cd_offset: u64,
    cd_size: u64,
    lim: &Limits,
) {
    let big_n = entries >= lim.u16_limit;
    let big_s = cd_size >= lim.u32_limit;
    let big_o = cd_offset >= lim.u32_limit;
    if big_n || big_s || big_o {
        let eocd64_offset = cd_offset + cd_size;
        put32(b, SIG_EOCD64);
        put64(b, 44); // size of the rest of this record
        put16(b, MADE_BY);
        put16(b, 45);
        put32(b, 0); // this disk
        put32(b, 0); // disk with the central directory
        put64(b, entries);
        put64(b, entries);
        put64(b, cd_size);
        put64(b, cd_offset);
        put32(b, SIG_LOCATOR64);
        put32(b, 0);
        put64(b, eocd64_offset);
        put32(b, 1); // total disks
    }
    let n = if big_n { u16::MAX } else { entries as u16 };
    put32(b, SIG_EOCD);
    put16(b, 0);
    put16(b, 0);
    put16(b, n);
    put16(b, n);
    put32(b, if big_s { u32::MAX } else { cd_size as u32 });
    put32(b, if big_o { u32::MAX } else { cd_offset as u32 });
    put16(b, 0); // comment length
}
