//! A small JSON writer for `--json` output (RFC 8259), so the CLI needs no serde.

use std::fmt::Write as _;

/// A JSON value; objects keep their key order.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    /// null
    Null,
    /// true / false
    Bool(bool),
    /// An integer.
    Int(i64),
    /// An unsigned integer (all of u64, such as a seed).
    UInt(u64),
    /// A finite number (non-finite values are written as null).
    Num(f64),
    /// A string.
    Str(String),
    /// An array.
    Arr(Vec<Json>),
    /// An object.
    Obj(Vec<(String, Json)>),
}

impl Json {
    /// An object from `(key, value)` pairs.
    pub fn obj<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Json)>) -> Self {
        Json::Obj(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// A string value.
    pub fn str(s: impl Into<String>) -> Self {
        Json::Str(s.into())
    }

    /// `Some(v)` as v, `None` as null.
    pub fn opt(v: Option<Json>) -> Self {
        v.unwrap_or(Json::Null)
    }

    /// Pretty-printed with two-space indentation and a final newline.
    pub fn pretty(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, Some(0));
        out.push('\n');
        out
    }

    /// On one line, with no whitespace between tokens, and a final newline.
    pub fn compact(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, None);
        out.push('\n');
        out
    }

    /// Writes the value; `indent` is the current indentation when pretty-printing and
    /// `None` for compact output.
    fn write(&self, out: &mut String, indent: Option<usize>) {
        let inner = indent.map(|n| n + 2);
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Json::UInt(u) => {
                let _ = write!(out, "{u}");
            }
            // Debug is the shortest round-trip form and always reads as a float
            // (`1.0`, `1e-7`), which is valid JSON.
            Json::Num(n) if n.is_finite() => {
                let _ = write!(out, "{n:?}");
            }
            Json::Num(_) => out.push_str("null"),
            Json::Str(s) => escape(out, s),
            Json::Arr(items) if items.is_empty() => out.push_str("[]"),
            Json::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, inner);
                    item.write(out, inner);
                }
                newline(out, indent);
                out.push(']');
            }
            Json::Obj(pairs) if pairs.is_empty() => out.push_str("{}"),
            Json::Obj(pairs) => {
                out.push('{');
                for (i, (k, v)) in pairs.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, inner);
                    escape(out, k);
                    out.push_str(if indent.is_some() { ": " } else { ":" });
                    v.write(out, inner);
                }
                newline(out, indent);
                out.push('}');
            }
        }
    }
}

/// When pretty-printing, a line break and `indent` spaces; nothing in compact output.
fn newline(out: &mut String, indent: Option<usize>) {
    if let Some(n) = indent {
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', n));
    }
}

fn escape(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_valid_escaped_json() {
        let v = Json::obj([
            ("a", Json::Int(-3)),
            ("s", Json::str("q\"\\\n\u{1}é")),
            (
                "l",
                Json::Arr(vec![
                    Json::Null,
                    Json::Bool(true),
                    Json::Num(0.5),
                    Json::Num(f64::NAN),
                ]),
            ),
            ("e", Json::Obj(vec![])),
        ]);
        assert_eq!(
            v.pretty(),
            "{\n  \"a\": -3,\n  \"s\": \"q\\\"\\\\\\n\\u0001é\",\n  \"l\": [\n    null,\n    true,\n    0.5,\n    null\n  ],\n  \"e\": {}\n}\n"
        );
        assert_eq!(
            v.compact(),
            "{\"a\":-3,\"s\":\"q\\\"\\\\\\n\\u0001é\",\"l\":[null,true,0.5,null],\"e\":{}}\n"
        );
        assert_eq!(
            Json::Arr(vec![Json::UInt(u64::MAX), Json::Num(1.0), Json::Num(1e-7)]).compact(),
            "[18446744073709551615,1.0,1e-7]\n"
        );
        assert_eq!(hex(&[0, 0xab]), "00ab");
    }
}
