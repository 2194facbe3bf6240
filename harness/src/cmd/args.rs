//! Value parsers that several commands share.

/// Seconds as a positive number up to an hour (`--timeout 2.5`).
pub fn parse_timeout(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 3600.0 => Ok(v),
        _ => Err("expected seconds between 0 and 3600".into()),
    }
}

/// The first address `addr` (`HOST:PORT`) resolves to.
pub fn resolve(addr: &str) -> Result<std::net::SocketAddr, crate::failure::Failure> {
    use crate::failure::Failure;
    std::net::ToSocketAddrs::to_socket_addrs(addr)
        .map_err(|e| Failure::input(format!("cannot resolve {addr}: {e}")))?
        .next()
        .ok_or_else(|| Failure::input(format!("{addr} resolves to no address")))
}

/// An RFC 3339 time (`--not-before 2026-01-01T00:00:00Z`).
pub fn parse_time(s: &str) -> Result<time::OffsetDateTime, String> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("not an RFC 3339 time like 2026-01-01T00:00:00Z: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_and_times() {
        assert_eq!(parse_timeout("2.5"), Ok(2.5));
        assert!(
            parse_timeout("0")
                .unwrap_err()
                .contains("between 0 and 3600")
        );
        assert!(
            parse_timeout("3601")
                .unwrap_err()
                .contains("between 0 and 3600")
        );
        assert_eq!(
            parse_time("2026-01-01T00:00:00Z").map(|t| t.unix_timestamp()),
            Ok(1_767_225_600)
        );
        assert!(
            parse_time("yesterday")
                .unwrap_err()
                .starts_with("not an RFC 3339 time")
        );
    }
}
