//! What the proxy does to one direction of a connection, and what it says it did.

use std::fs::OpenOptions;
use std::io::{self, Write};

use super::framing::{Framing, describe_record};
use super::{Dir, Operation};

/// The per-direction state of an operation.
pub struct Tamper {
    op: Operation,
    dir: Dir,
    active: bool,
    /// Bytes seen so far in this direction.
    seen: u64,
    /// Where the records begin and end, to say where a flip or a cut falls.
    framing: Framing,
    /// Whether the operation has been done.
    done: bool,
    /// Record framing for the record operations: bytes of an incomplete record, the
    /// number of complete records so far, and a record held back for a swap.
    partial: Vec<u8>,
    records: u64,
    held: Option<Vec<u8>>,
    /// What was done, not yet reported.
    notes: Vec<String>,
}

impl Tamper {
    /// The state for `dir` under `op`; directions `op` does not name pass unchanged.
    pub fn new(op: &Operation, dir: Dir) -> Self {
        let active = match op {
            Operation::Pass | Operation::ReplayFrom(_) => false,
            Operation::Flip(d, _)
            | Operation::Truncate(d, _)
            | Operation::DropRecord(d, _)
            | Operation::Reorder(d, _)
            | Operation::Record(d, _) => *d == dir,
        };
        Self {
            op: op.clone(),
            dir,
            active,
            seen: 0,
            framing: Framing::default(),
            done: false,
            partial: Vec::new(),
            records: 0,
            held: None,
            notes: Vec::new(),
        }
    }

    /// The direction this state is for.
    pub fn dir(&self) -> Dir {
        self.dir
    }

    /// How many bytes came in this direction.
    pub fn seen(&self) -> u64 {
        self.seen
    }

    /// What the operation did since the last call, one line each (`flipped the low bit of
    /// byte 100 (byte 95 of record 0 (handshake, 90 bytes)): 0x3c -> 0x3d`).
    pub fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    /// Transforms one chunk; returns the bytes to forward and whether the direction is
    /// now finished (truncation).
    pub fn apply(&mut self, chunk: &[u8]) -> io::Result<(Vec<u8>, bool)> {
        let start = self.seen;
        self.seen += chunk.len() as u64;
        if !self.active {
            return Ok((chunk.to_vec(), false));
        }
        match &self.op {
            Operation::Flip(_, offset) => Ok((self.flip(chunk, start, *offset), false)),
            Operation::Truncate(_, n) => {
                let n = *n;
                let keep = n.saturating_sub(start).min(chunk.len() as u64) as usize;
                self.framing.feed(&chunk[..keep]);
                let done = self.seen >= n;
                if done {
                    self.done = true;
                    let last = match n {
                        0 => "nothing was forwarded".to_owned(),
                        _ => format!(
                            "the last one forwarded is {}",
                            self.framing.last_byte(&chunk[keep..])
                        ),
                    };
                    self.notes.push(format!(
                        "truncated after {n} bytes ({last}); closed this direction"
                    ));
                }
                Ok((chunk[..keep].to_vec(), done))
            }
            Operation::Record(_, path) => {
                let mut file = OpenOptions::new().create(true).append(true).open(path)?;
                file.write_all(chunk)?;
                Ok((chunk.to_vec(), false))
            }
            Operation::DropRecord(..) | Operation::Reorder(..) => {
                Ok((self.records_through(chunk), false))
            }
            Operation::Pass | Operation::ReplayFrom(_) => Ok((chunk.to_vec(), false)),
        }
    }

    /// Flips the low bit of stream byte `offset` when `chunk` (starting at stream byte
    /// `start`) holds it.
    fn flip(&mut self, chunk: &[u8], start: u64, offset: u64) -> Vec<u8> {
        let mut out = chunk.to_vec();
        if !(start..self.seen).contains(&offset) {
            self.framing.feed(chunk);
            return out;
        }
        let at = (offset - start) as usize;
        self.framing.feed(&chunk[..=at]);
        out[at] ^= 0x01;
        self.done = true;
        self.notes.push(format!(
            "flipped the low bit of byte {offset} ({}): {:#04x} -> {:#04x}",
            self.framing.last_byte(&chunk[at + 1..]),
            chunk[at],
            out[at]
        ));
        self.framing.feed(&chunk[at + 1..]);
        out
    }

    /// Splits the stream into records (5-byte header + length) and applies the record
    /// operation to complete ones.
    fn records_through(&mut self, chunk: &[u8]) -> Vec<u8> {
        self.partial.extend_from_slice(chunk);
        let mut out = Vec::new();
        loop {
            if self.partial.len() < 5 {
                break;
            }
            let len = 5 + usize::from(u16::from_be_bytes([self.partial[3], self.partial[4]]));
            if self.partial.len() < len {
                break;
            }
            let record: Vec<u8> = self.partial.drain(..len).collect();
            let index = self.records;
            self.records += 1;
            match (&self.op, self.held.take()) {
                (Operation::DropRecord(_, n), _) if index == *n => {
                    self.done = true;
                    let what = describe_record(&record);
                    self.notes.push(format!("dropped record {n} ({what})"));
                }
                (Operation::Reorder(_, n), _) if index == *n => self.held = Some(record),
                (Operation::Reorder(..), Some(first)) => {
                    self.done = true;
                    self.notes.push(format!(
                        "swapped records {} and {index} ({}; {})",
                        index - 1,
                        describe_record(&first),
                        describe_record(&record)
                    ));
                    out.extend_from_slice(&record);
                    out.extend_from_slice(&first);
                }
                _ => out.extend_from_slice(&record),
            }
        }
        out
    }

    /// What is still held when the direction ends (a record waiting to be swapped, and a
    /// trailing partial record are forwarded as they are); notes an operation that never
    /// happened because the direction ended first.
    pub fn finish(&mut self) -> Vec<u8> {
        if self.active
            && let Some(note) = self.ending_note()
        {
            self.notes.push(note);
        }
        let mut out = self.held.take().unwrap_or_default();
        out.append(&mut self.partial);
        out
    }

    fn ending_note(&self) -> Option<String> {
        let (seen, records) = (self.seen, self.records);
        match &self.op {
            Operation::Record(_, path) => {
                Some(format!("recorded {seen} bytes to {}", path.display()))
            }
            _ if self.done => None,
            Operation::Flip(_, n) | Operation::Truncate(_, n) => Some(format!(
                "ended after {seen} bytes, before byte {n}: nothing changed"
            )),
            Operation::DropRecord(_, n) => Some(format!(
                "ended after {records} records, before record {n}: nothing dropped"
            )),
            Operation::Reorder(_, n) => Some(format!(
                "ended after {records} records, without records {n} and {}: nothing swapped",
                n + 1
            )),
            Operation::Pass | Operation::ReplayFrom(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(n: usize) -> Vec<u8> {
        (0..n)
            .flat_map(|i| vec![0x17, 3, 3, 0, 1, i as u8])
            .collect()
    }

    #[test]
    fn record_operations_work_across_chunk_boundaries() {
        let stream = records(4);
        for split in 0..stream.len() {
            let mut t = Tamper::new(&Operation::Reorder(Dir::C2S, 1), Dir::C2S);
            let mut out = t.apply(&stream[..split]).expect("apply").0;
            out.extend(t.apply(&stream[split..]).expect("apply").0);
            out.extend(t.finish());
            let order: Vec<u8> = out.chunks(6).map(|r| r[5]).collect();
            assert_eq!(order, [0, 2, 1, 3], "split at {split}");

            let mut t = Tamper::new(&Operation::DropRecord(Dir::C2S, 2), Dir::C2S);
            let mut out = t.apply(&stream[..split]).expect("apply").0;
            out.extend(t.apply(&stream[split..]).expect("apply").0);
            out.extend(t.finish());
            let order: Vec<u8> = out.chunks(6).map(|r| r[5]).collect();
            assert_eq!(order, [0, 1, 3], "split at {split}");
        }
    }

    #[test]
    fn flip_and_truncate_count_bytes_across_chunks() {
        let mut t = Tamper::new(&Operation::Flip(Dir::S2C, 7), Dir::S2C);
        let a = t.apply(&[0; 5]).expect("apply").0;
        let b = t.apply(&[0; 5]).expect("apply").0;
        assert_eq!([a, b].concat(), [0, 0, 0, 0, 0, 0, 0, 1, 0, 0]);
        let mut t = Tamper::new(&Operation::Flip(Dir::S2C, 7), Dir::C2S);
        assert_eq!(
            t.apply(&[0; 10]).expect("apply").0,
            [0; 10],
            "other direction untouched"
        );

        let mut t = Tamper::new(&Operation::Truncate(Dir::C2S, 6), Dir::C2S);
        assert_eq!(t.apply(&[1; 4]).expect("apply"), (vec![1; 4], false));
        assert_eq!(t.apply(&[2; 4]).expect("apply"), (vec![2; 2], true));
    }

    #[test]
    fn every_change_is_reported_with_its_record() {
        // Record 0: 6 bytes (header + 1); the flip hits byte 1 of record 1.
        let mut t = Tamper::new(&Operation::Flip(Dir::S2C, 7), Dir::S2C);
        t.apply(&records(3)).expect("apply");
        assert_eq!(
            t.take_notes(),
            [
                "flipped the low bit of byte 7 (byte 1 of record 1 (application_data, 6 bytes)): 0x03 -> 0x02"
            ]
        );
        t.finish();
        assert!(t.take_notes().is_empty(), "nothing more to say");

        let mut t = Tamper::new(&Operation::Truncate(Dir::C2S, 8), Dir::C2S);
        t.apply(&records(3)).expect("apply");
        assert_eq!(
            t.take_notes(),
            [
                "truncated after 8 bytes (the last one forwarded is byte 1 of record 1 (application_data, 6 bytes)); closed this direction"
            ]
        );

        let mut t = Tamper::new(&Operation::DropRecord(Dir::C2S, 1), Dir::C2S);
        t.apply(&records(3)).expect("apply");
        assert_eq!(
            t.take_notes(),
            ["dropped record 1 (application_data, 6 bytes)"]
        );

        let mut t = Tamper::new(&Operation::Reorder(Dir::C2S, 0), Dir::C2S);
        t.apply(&records(3)).expect("apply");
        assert_eq!(
            t.take_notes(),
            ["swapped records 0 and 1 (application_data, 6 bytes; application_data, 6 bytes)"]
        );
    }

    #[test]
    fn an_operation_the_stream_never_reached_is_reported() {
        let mut t = Tamper::new(&Operation::Flip(Dir::C2S, 100), Dir::C2S);
        t.apply(&records(2)).expect("apply");
        t.finish();
        assert_eq!(
            t.take_notes(),
            ["ended after 12 bytes, before byte 100: nothing changed"]
        );
        let mut t = Tamper::new(&Operation::DropRecord(Dir::C2S, 5), Dir::C2S);
        t.apply(&records(2)).expect("apply");
        t.finish();
        assert_eq!(
            t.take_notes(),
            ["ended after 2 records, before record 5: nothing dropped"]
        );
        let mut t = Tamper::new(&Operation::Flip(Dir::C2S, 1), Dir::S2C);
        t.apply(&records(2)).expect("apply");
        t.finish();
        assert!(
            t.take_notes().is_empty(),
            "the other direction is not watched"
        );
    }
}
