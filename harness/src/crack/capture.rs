//! The first ClientHello of a recorded connection: from a classic libpcap file or from the
//! raw client-to-server bytes `keylab mitm --record c2s:FILE` writes.
//!
//! A pcap is read packet by packet (link types Ethernet, BSD loopback, raw IP, Linux
//! cooked v1 and v2), down through IPv4 or IPv6 to TCP. Each TCP direction's payload is
//! put back in sequence order (retransmitted and overlapping bytes dropped), and the first
//! direction whose bytes start with a TLS handshake record holding a ClientHello wins.

use std::collections::HashMap;

/// The largest ClientHello accepted (the handshake length field allows 16 MiB).
const MAX_HELLO: usize = 1 << 16;

/// RFC 8446 §5.1 ContentType handshake.
const HANDSHAKE_RECORD: u8 = 22;
/// RFC 8446 §4 HandshakeType client_hello.
const CLIENT_HELLO: u8 = 1;

/// The encoded ClientHello (handshake header included) at the start of the first TLS
/// connection in `capture`, a pcap file or raw recorded bytes.
pub fn client_hello(capture: &[u8]) -> Result<Vec<u8>, String> {
    if let Some(pcap) = Pcap::open(capture) {
        let streams = pcap.tcp_streams()?;
        if streams.is_empty() {
            return Err("the pcap holds no TCP payload".into());
        }
        return streams
            .iter()
            .find_map(|s| hello_from_records(s).ok())
            .ok_or_else(|| "no TCP stream of the pcap starts with a TLS ClientHello".into());
    }
    hello_from_records(capture)
}

/// Joins the handshake records at the start of `stream` (RFC 8446 §5.1: a message may span
/// records) until the first handshake message is complete; it must be a ClientHello.
pub fn hello_from_records(stream: &[u8]) -> Result<Vec<u8>, String> {
    let mut messages = Vec::new();
    let mut rest = stream;
    loop {
        if let Some(hello) = complete_message(&messages)? {
            return Ok(hello);
        }
        let [typ, _, _, hi, lo, ..] = *rest else {
            return Err(if messages.is_empty() && rest.is_empty() {
                "no bytes recorded".into()
            } else {
                "the recording ends inside the ClientHello".into()
            });
        };
        if typ != HANDSHAKE_RECORD {
            return Err(format!(
                "the first record has content type {typ}, not handshake (22): not the client's \
                 side of a TLS connection"
            ));
        }
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        let body = rest
            .get(5..5 + len)
            .ok_or("the recording ends inside a record")?;
        messages.extend_from_slice(body);
        rest = &rest[5 + len..];
    }
}

/// The first handshake message of `messages` once it is all there.
fn complete_message(messages: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let [typ, a, b, c, ..] = *messages else {
        return Ok(None);
    };
    if typ != CLIENT_HELLO {
        return Err(format!(
            "the first handshake message has type {typ}, not ClientHello (1)"
        ));
    }
    let len = usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c);
    if len > MAX_HELLO {
        return Err(format!("a ClientHello of {len} bytes is implausible"));
    }
    Ok(messages.get(..4 + len).map(<[u8]>::to_vec))
}

/// A classic libpcap file (not pcapng): its byte order, link type and packets.
struct Pcap<'a> {
    big_endian: bool,
    link_type: u32,
    packets: &'a [u8],
}

impl<'a> Pcap<'a> {
    /// Recognises the four magic numbers (microsecond or nanosecond timestamps, either
    /// byte order); `None` for anything else.
    fn open(bytes: &'a [u8]) -> Option<Self> {
        let magic = bytes.get(..4)?;
        let big_endian = match magic {
            [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => true,
            [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => false,
            _ => return None,
        };
        let header = bytes.get(..24)?;
        let link = [header[20], header[21], header[22], header[23]];
        let link_type = if big_endian {
            u32::from_be_bytes(link)
        } else {
            u32::from_le_bytes(link)
        };
        Some(Self {
            big_endian,
            link_type: link_type & 0x0fff_ffff,
            packets: &bytes[24..],
        })
    }

    fn u32_at(&self, bytes: &[u8], at: usize) -> Option<u32> {
        let b: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
        Some(if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    /// Every TCP direction's payload in sequence order, in the order their first payload
    /// appeared.
    fn tcp_streams(&self) -> Result<Vec<Vec<u8>>, String> {
        let mut flows: HashMap<Vec<u8>, Flow> = HashMap::new();
        let mut order = Vec::new();
        let mut rest = self.packets;
        while !rest.is_empty() {
            let caplen = self
                .u32_at(rest, 8)
                .ok_or("the pcap ends inside a packet header")? as usize;
            let data = rest
                .get(16..16 + caplen)
                .ok_or("the pcap ends inside a packet")?;
            rest = &rest[16 + caplen..];
            let Some(ip) = self.ip_packet(data) else {
                continue;
            };
            let Some(segment) = tcp_segment(ip) else {
                continue;
            };
            let flow = flows.entry(segment.key.clone()).or_insert_with(|| {
                order.push(segment.key.clone());
                Flow::default()
            });
            flow.add(&segment);
        }
        Ok(order
            .iter()
            .filter_map(|k| flows.remove(k))
            .map(Flow::bytes)
            .filter(|b| !b.is_empty())
            .collect())
    }

    /// The IP packet inside a link-layer frame of this file's link type.
    fn ip_packet<'p>(&self, frame: &'p [u8]) -> Option<&'p [u8]> {
        match self.link_type {
            // LINKTYPE_NULL / LINKTYPE_LOOP: a 4-byte address family.
            0 | 108 => frame.get(4..),
            // LINKTYPE_ETHERNET: 14-byte header, optionally one 802.1Q tag.
            1 => {
                let ether_type = u16::from_be_bytes([*frame.get(12)?, *frame.get(13)?]);
                if ether_type == 0x8100 {
                    frame.get(18..)
                } else {
                    frame.get(14..)
                }
            }
            // LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6: no link header.
            101 | 228 | 229 => Some(frame),
            // LINKTYPE_LINUX_SLL: 16-byte header. LINKTYPE_LINUX_SLL2: 20-byte header.
            113 => frame.get(16..),
            276 => frame.get(20..),
            _ => None,
        }
    }
}

/// One TCP segment: its direction (addresses and ports), flags and payload.
struct Segment<'p> {
    key: Vec<u8>,
    seq: u32,
    syn: bool,
    payload: &'p [u8],
}

/// The TCP segment in an IPv4 (RFC 791) or IPv6 (RFC 8200) packet; `None` for other
/// protocols, fragments and IPv6 extension headers.
fn tcp_segment(ip: &[u8]) -> Option<Segment<'_>> {
    let (key_addrs, tcp) = match ip.first()? >> 4 {
        4 => {
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]));
            let fragment = u16::from_be_bytes([*ip.get(6)?, *ip.get(7)?]) & 0x3fff;
            if *ip.get(9)? != 6 || fragment != 0 || ihl < 20 {
                return None;
            }
            (ip.get(12..20)?, ip.get(ihl..total.min(ip.len()))?)
        }
        6 => {
            let payload = usize::from(u16::from_be_bytes([*ip.get(4)?, *ip.get(5)?]));
            if *ip.get(6)? != 6 {
                return None;
            }
            (ip.get(8..40)?, ip.get(40..(40 + payload).min(ip.len()))?)
        }
        _ => return None,
    };
    // RFC 9293 §3.1: ports, sequence number, data offset, flags.
    let offset = usize::from(tcp.get(12)? >> 4) * 4;
    let mut key = key_addrs.to_vec();
    key.extend_from_slice(tcp.get(..4)?);
    Some(Segment {
        key,
        seq: u32::from_be_bytes(tcp.get(4..8)?.try_into().ok()?),
        syn: tcp.get(13)? & 0x02 != 0,
        payload: tcp.get(offset..)?,
    })
}

/// The payload of one TCP direction, by sequence number.
#[derive(Default)]
struct Flow {
    /// The sequence number of the first payload byte, once known (SYN + 1, or else the
    /// lowest sequence number seen).
    start: Option<u32>,
    segments: Vec<(u32, Vec<u8>)>,
}

impl Flow {
    fn add(&mut self, s: &Segment<'_>) {
        if s.syn {
            self.start = Some(s.seq.wrapping_add(1));
        }
        if !s.payload.is_empty() && self.segments.len() < 4096 {
            self.segments.push((s.seq, s.payload.to_vec()));
        }
    }

    /// The contiguous bytes from the start, as far as no segment is missing.
    fn bytes(mut self) -> Vec<u8> {
        let Some(base) = self
            .start
            .or_else(|| self.segments.iter().map(|(seq, _)| *seq).min())
        else {
            return Vec::new();
        };
        // Offsets relative to the start survive sequence-number wrap-around.
        self.segments.sort_by_key(|(seq, _)| seq.wrapping_sub(base));
        let mut out: Vec<u8> = Vec::new();
        for (seq, payload) in &self.segments {
            let at = seq.wrapping_sub(base) as usize;
            if at > out.len() {
                break;
            }
            if let Some(new) = payload.get(out.len() - at..) {
                out.extend_from_slice(new);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ClientHello of `body_len` zero bytes in one handshake record.
    fn hello_record(body_len: u8) -> Vec<u8> {
        let mut hs = vec![CLIENT_HELLO, 0, 0, body_len];
        hs.extend(std::iter::repeat_n(0, usize::from(body_len)));
        let mut rec = vec![HANDSHAKE_RECORD, 3, 1, 0, 4 + body_len];
        rec.extend_from_slice(&hs);
        rec
    }

    /// An IPv4 packet carrying a TCP segment with `payload` at sequence number `seq`.
    fn ipv4_tcp(seq: u32, payload: &[u8]) -> Vec<u8> {
        let total = u16::try_from(40 + payload.len()).expect("small");
        let mut p = vec![0x45, 0];
        p.extend_from_slice(&total.to_be_bytes());
        p.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1]);
        p.extend_from_slice(&[0x9c, 0x40, 0x20, 0xfb]);
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&[0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
        p.extend_from_slice(payload);
        p
    }

    /// A big-endian pcap of `link_type` whose frames are `header` + each packet.
    fn pcap_be(link_type: u32, header: &[u8], packets: &[Vec<u8>]) -> Vec<u8> {
        let mut f = vec![0xa1, 0xb2, 0xc3, 0xd4, 0, 2, 0, 4];
        f.extend_from_slice(&[0; 8]);
        f.extend_from_slice(&65_535u32.to_be_bytes());
        f.extend_from_slice(&link_type.to_be_bytes());
        for p in packets {
            let len = u32::try_from(header.len() + p.len()).expect("small");
            f.extend_from_slice(&[0; 8]);
            f.extend_from_slice(&len.to_be_bytes());
            f.extend_from_slice(&len.to_be_bytes());
            f.extend_from_slice(header);
            f.extend_from_slice(p);
        }
        f
    }

    #[test]
    fn a_hello_split_over_records_and_segments_is_joined_for_each_link_type() {
        let record = hello_record(40);
        // The handshake message split over two records, as RFC 8446 §5.1 allows.
        let hs = &record[5..];
        let mut split = vec![HANDSHAKE_RECORD, 3, 3, 0, 10];
        split.extend_from_slice(&hs[..10]);
        split.extend_from_slice(&[
            HANDSHAKE_RECORD,
            3,
            3,
            0,
            u8::try_from(hs.len() - 10).expect("small"),
        ]);
        split.extend_from_slice(&hs[10..]);
        assert_eq!(hello_from_records(&split).expect("joined"), hs);
        // Without a SYN the lowest sequence number starts the stream.
        let packets = [
            ipv4_tcp(1_000 + 20, &split[20..]),
            ipv4_tcp(1_000, &split[..20]),
        ];
        for (link, header) in [
            (0u32, &[2, 0, 0, 0][..]),
            (101, &[][..]),
            (276, &[0; 20][..]),
        ] {
            let pcap = pcap_be(link, header, &packets);
            assert_eq!(client_hello(&pcap).expect("found"), hs, "link type {link}");
        }
    }

    #[test]
    fn what_is_not_a_client_hello_is_named() {
        let e = client_hello(&[23, 3, 3, 0, 1, 0]).expect_err("application data");
        assert!(e.contains("content type 23"), "{e}");
        let e = hello_from_records(&[22, 3, 3, 0, 4, 2, 0, 0, 0]).expect_err("a ServerHello");
        assert!(e.contains("type 2, not ClientHello"), "{e}");
        let e = hello_from_records(&hello_record(40)[..30]).expect_err("cut");
        assert!(e.contains("ends inside"), "{e}");
        let e = client_hello(&pcap_be(1, &[], &[])).expect_err("empty");
        assert!(e.contains("no TCP payload"), "{e}");
    }
}
