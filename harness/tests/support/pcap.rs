//! A small writer of classic libpcap files, for feeding recorded bytes to `keylab psk
//! crack` as a capture tool would have seen them: TCP segments in IPv4 over Ethernet or
//! IPv6 over Linux cooked capture.

use std::net::IpAddr;

/// The link layer of the file.
#[derive(Clone, Copy)]
pub enum Link {
    /// LINKTYPE_ETHERNET (1), IPv4 inside.
    EthernetIpv4,
    /// LINKTYPE_LINUX_SLL (113), IPv6 inside.
    CookedIpv6,
}

/// One TCP segment to write.
pub struct Segment<'a> {
    /// Client to server (true) or back.
    pub from_client: bool,
    /// Sequence number relative to the sender's initial one (its SYN is at 0).
    pub offset: u32,
    /// SYN flag (and no payload).
    pub syn: bool,
    /// The payload.
    pub payload: &'a [u8],
}

/// A pcap file (little-endian, microsecond timestamps) holding `segments` of one
/// connection between 127.0.0.1:`client_port` (or ::1) and port 8443.
pub fn write(link: Link, client_port: u16, segments: &[Segment<'_>]) -> Vec<u8> {
    write_flows(link, &[(client_port, segments)])
}

/// Like [`write`], with the segments of several connections, one after the other.
pub fn write_flows(link: Link, flows: &[(u16, &[Segment<'_>])]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&65_535u32.to_le_bytes());
    let link_type: u32 = match link {
        Link::EthernetIpv4 => 1,
        Link::CookedIpv6 => 113,
    };
    out.extend_from_slice(&link_type.to_le_bytes());
    let (client_isn, server_isn) = (0xffff_ff00u32, 0x1000u32);
    let all = flows
        .iter()
        .flat_map(|(port, segments)| segments.iter().map(move |s| (*port, s)));
    for (i, (client_port, s)) in all.enumerate() {
        let (sport, dport, isn) = if s.from_client {
            (client_port, 8443, client_isn)
        } else {
            (8443, client_port, server_isn)
        };
        let tcp = tcp(sport, dport, isn.wrapping_add(s.offset), s.syn, s.payload);
        let frame = match link {
            Link::EthernetIpv4 => ethernet(&ipv4(&tcp)),
            Link::CookedIpv6 => cooked(&ipv6(&tcp)),
        };
        let len = u32::try_from(frame.len()).expect("small");
        out.extend_from_slice(&u32::try_from(i).expect("few").to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&frame);
    }
    out
}

fn tcp(sport: u16, dport: u16, seq: u32, syn: bool, payload: &[u8]) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&0u32.to_be_bytes());
    t.push(5 << 4);
    t.push(if syn { 0x02 } else { 0x18 });
    t.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]);
    t.extend_from_slice(payload);
    t
}

fn ipv4(tcp: &[u8]) -> Vec<u8> {
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&u16::try_from(20 + tcp.len()).expect("small").to_be_bytes());
    ip.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0]);
    let lo = match "127.0.0.1".parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => a.octets(),
        _ => unreachable!(),
    };
    ip.extend_from_slice(&lo);
    ip.extend_from_slice(&lo);
    ip.extend_from_slice(tcp);
    ip
}

fn ipv6(tcp: &[u8]) -> Vec<u8> {
    let mut ip = vec![0x60, 0, 0, 0];
    ip.extend_from_slice(&u16::try_from(tcp.len()).expect("small").to_be_bytes());
    ip.extend_from_slice(&[6, 64]);
    let mut lo = [0u8; 16];
    lo[15] = 1;
    ip.extend_from_slice(&lo);
    ip.extend_from_slice(&lo);
    ip.extend_from_slice(tcp);
    ip
}

fn ethernet(ip: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; 12];
    f.extend_from_slice(&0x0800u16.to_be_bytes());
    f.extend_from_slice(ip);
    f
}

fn cooked(ip: &[u8]) -> Vec<u8> {
    let mut f = vec![0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0];
    f.extend_from_slice(&0x86ddu16.to_be_bytes());
    f.extend_from_slice(ip);
    f
}
