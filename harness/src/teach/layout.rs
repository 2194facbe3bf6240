//! Text layout for the terminal explanation: the width to wrap to, words wrapped with a
//! hanging indent, hex in rows of 16 bytes, and colour by kind of value.

use std::io::IsTerminal;

/// The width used when the output is not a terminal and `COLUMNS` is unset.
pub const DEFAULT_WIDTH: usize = 100;
/// Narrower than this, nothing sensible fits: wrap to this width anyway.
pub const MIN_WIDTH: usize = 40;
/// Bytes in one row of hex.
pub const HEX_ROW: usize = 16;

/// The width to wrap to: `COLUMNS` when set to a number, else the terminal's width when
/// stdout is one, else [`DEFAULT_WIDTH`]. Never below [`MIN_WIDTH`].
pub fn detect_width() -> usize {
    let from_env = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok());
    let from_tty = || {
        std::io::stdout()
            .is_terminal()
            .then(|| terminal_size::terminal_size().map(|(w, _)| usize::from(w.0)))
            .flatten()
    };
    from_env
        .or_else(from_tty)
        .unwrap_or(DEFAULT_WIDTH)
        .max(MIN_WIDTH)
}

/// Whether to colour: only on a terminal, and never with `NO_COLOR` set (no-color.org).
pub fn colour_wanted() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// What a piece of text is, for colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A heading: a run, a record, a message.
    Heading,
    /// A field name.
    Name,
    /// Bytes shown as hex.
    Bytes,
    /// A secret or key.
    Secret,
    /// A command to run.
    Command,
    /// Explanatory prose.
    Note,
}

impl Kind {
    /// The ANSI SGR code of this kind.
    fn sgr(self) -> &'static str {
        match self {
            Kind::Heading => "1",
            Kind::Name => "36",
            Kind::Bytes => "33",
            Kind::Secret => "35",
            Kind::Command => "32",
            Kind::Note => "2",
        }
    }

    /// The legend line for this kind.
    pub fn legend(self) -> &'static str {
        match self {
            Kind::Heading => "headings (records, messages, key schedule steps)",
            Kind::Name => "field names",
            Kind::Bytes => "bytes as they are on the wire",
            Kind::Secret => "secrets, keys and IVs",
            Kind::Command => "commands that recompute a value",
            Kind::Note => "explanations",
        }
    }

    /// Every kind, in legend order.
    pub const ALL: [Kind; 6] = [
        Kind::Heading,
        Kind::Name,
        Kind::Bytes,
        Kind::Secret,
        Kind::Command,
        Kind::Note,
    ];
}

/// Paints text by kind, or leaves it alone when colour is off.
#[derive(Clone, Copy, Debug)]
pub struct Painter {
    /// Whether ANSI colours are written.
    pub enabled: bool,
}

impl Painter {
    /// `text` in the colour of `kind`.
    pub fn paint(&self, kind: Kind, text: &str) -> String {
        if self.enabled && !text.is_empty() {
            format!("\x1b[{}m{text}\x1b[0m", kind.sgr())
        } else {
            text.to_owned()
        }
    }
}

/// Wraps `text` at spaces to lines of at most `width` characters, the first prefixed with
/// `first` and the rest with `rest` (a hanging indent). A word longer than a whole line's
/// room is split across lines.
pub fn wrap(text: &str, width: usize, first: &str, rest: &str) -> Vec<String> {
    let room = width.saturating_sub(chars(rest)).max(8);
    let mut lines = Vec::new();
    let mut line = first.to_owned();
    let mut empty = true;
    let words = text.split_whitespace().flat_map(|w| {
        if chars(w) > room {
            chunks(w, room)
        } else {
            vec![w.to_owned()]
        }
    });
    for word in words {
        let len = chars(&line) + usize::from(!empty) + chars(&word);
        if len > width && (!empty || chars(&line) > chars(rest)) {
            lines.push(std::mem::replace(&mut line, rest.to_owned()));
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(&word);
        empty = false;
    }
    lines.push(line);
    lines
}

/// How many bytes of hex (`xx ` each, the last without its space) fit in `room` columns:
/// [`HEX_ROW`] at most, 4 at least.
pub fn bytes_per_row(room: usize) -> usize {
    (room.saturating_add(1) / 3).clamp(4, HEX_ROW)
}

/// Hex rows of up to [`HEX_ROW`] bytes (`0a 1b 2c ...`), fewer when `room` columns cannot
/// hold a full row; at least 4 bytes a row.
pub fn hex_rows(bytes: &[u8], room: usize) -> Vec<String> {
    let per_row = bytes_per_row(room);
    if bytes.is_empty() {
        return vec!["(empty)".to_owned()];
    }
    bytes
        .chunks(per_row)
        .map(|row| {
            row.iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// Splits a long unbreakable string (a hex value, a command) into pieces of at most `room`
/// characters.
pub fn chunks(text: &str, room: usize) -> Vec<String> {
    let room = room.max(1);
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(room).map(|c| c.iter().collect()).collect()
}

/// The number of characters (not bytes) of `s`, ignoring ANSI colour sequences.
pub fn chars(s: &str) -> usize {
    let mut n = 0;
    let mut in_escape = false;
    for c in s.chars() {
        match (in_escape, c) {
            (false, '\x1b') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, _) => n += 1,
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_keeps_lines_within_the_width_with_a_hanging_indent() {
        let text = "the server's choices: version, cipher suite and its own key share; from \
                    here on both sides can compute the handshake keys";
        let lines = wrap(text, 40, "  note: ", "        ");
        assert!(lines.iter().all(|l| chars(l) <= 40), "{lines:#?}");
        assert!(lines[0].starts_with("  note: the server's"));
        assert!(lines[1..].iter().all(|l| l.starts_with("        ")));
        let rejoined: Vec<&str> = lines.iter().flat_map(|l| l.split_whitespace()).collect();
        assert_eq!(rejoined[1..].join(" "), text);
    }

    #[test]
    fn a_word_longer_than_a_line_is_split() {
        let lines = wrap("short 0123456789abcdef0123456789abcdef tail", 20, "", "");
        assert_eq!(
            lines,
            ["short", "0123456789abcdef0123", "456789abcdef tail"]
        );
    }

    #[test]
    fn hex_rows_are_sixteen_bytes_or_what_fits() {
        let bytes: Vec<u8> = (0..40).collect();
        let rows = hex_rows(&bytes, 80);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0], "00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f");
        assert_eq!(rows[2], "20 21 22 23 24 25 26 27");
        let narrow = hex_rows(&bytes, 23);
        assert_eq!(narrow[0], "00 01 02 03 04 05 06 07");
        assert_eq!(hex_rows(&[], 80), ["(empty)"]);
    }

    #[test]
    fn colour_is_only_added_when_enabled_and_not_counted_as_width() {
        let on = Painter { enabled: true }.paint(Kind::Name, "msg_type");
        assert_eq!(on, "\x1b[36mmsg_type\x1b[0m");
        assert_eq!(chars(&on), 8);
        assert_eq!(
            Painter { enabled: false }.paint(Kind::Name, "msg_type"),
            "msg_type"
        );
    }

    #[test]
    fn chunks_split_at_the_room() {
        assert_eq!(chunks("abcdefg", 3), ["abc", "def", "g"]);
    }
}
