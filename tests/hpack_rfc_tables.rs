//! The committed tables checked against the RFC 7541 text itself: the static
//! table (Appendix A) and the Huffman code (Appendix B), through the public
//! API. The RFC is found via `H2ACTOR_RFC_DIR`, then `<manifest>/../shared/rfc`,
//! then `/work/shared/rfc`; missing: fails under `CI=true`, skipped otherwise.

use bytes::BytesMut;
use h2actor::hpack::{huffman, static_table::STATIC_TABLE};
use std::path::{Path, PathBuf};

fn rfc_text() -> Option<String> {
    let mut candidates = Vec::new();
    if let Ok(p) = std::env::var("H2ACTOR_RFC_DIR") {
        candidates.push(PathBuf::from(p));
    }
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/rfc"));
    candidates.push(PathBuf::from("/work/shared/rfc"));
    for dir in candidates {
        if let Ok(text) = std::fs::read_to_string(dir.join("hpack-rfc7541.txt")) {
            return Some(text);
        }
    }
    let msg = "hpack-rfc7541.txt not found (set H2ACTOR_RFC_DIR)";
    assert!(std::env::var("CI").map_or(true, |v| v != "true"), "{msg}");
    eprintln!("SKIPPED: {msg}");
    None
}

/// The text of an appendix (its last occurrence: the first is the contents).
fn appendix<'a>(text: &'a str, title: &str, next: &str) -> &'a str {
    let start = text.rfind(title).expect("appendix title");
    let end = text.rfind(next).expect("next title");
    &text[start..end]
}

#[test]
fn static_table_matches_rfc_appendix_a() {
    let Some(text) = rfc_text() else { return };
    let a = appendix(
        &text,
        "Appendix A.  Static Table Definition",
        "Appendix B.  Huffman Code",
    );
    let mut rows = Vec::new();
    for line in a.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // "| 15    | accept-charset              |               |"
        if cells.len() == 5 {
            if let Ok(index) = cells[1].parse::<usize>() {
                rows.push((index, cells[2].to_string(), cells[3].to_string()));
            }
        }
    }
    assert_eq!(rows.len(), 61);
    for (index, name, value) in rows {
        let (n, v) = STATIC_TABLE[index - 1];
        assert_eq!(
            (n, v),
            (name.as_bytes(), value.as_bytes()),
            "static entry {index}"
        );
    }
}

#[test]
fn huffman_code_matches_rfc_appendix_b() {
    let Some(text) = rfc_text() else { return };
    let b = appendix(&text, "Appendix B.  Huffman Code", "Appendix C.  Examples");
    let mut seen = 0;
    for line in b.lines() {
        // "   'a' ( 97)  |00011                                         3  [ 5]"
        // The symbol number is in "( 97)" just before the code, which
        // starts with '|' (the symbol itself may be '(', ')' or '|').
        let Some(close) = line.find(")  |") else {
            continue;
        };
        let Some(open) = line[..close].rfind('(') else {
            continue;
        };
        let Ok(sym) = line[open + 1..close].trim().parse::<u32>() else {
            continue;
        };
        let bits: String = line[close + 3..]
            .split_whitespace()
            .next()
            .unwrap()
            .chars()
            .filter(|c| *c == '0' || *c == '1')
            .collect();
        if sym == 256 {
            assert_eq!(bits, "1".repeat(30), "EOS");
            seen += 1;
            continue;
        }
        // Encoding the symbol alone gives its code, then padding ones.
        let mut padded = bits.clone();
        while padded.len() % 8 != 0 {
            padded.push('1');
        }
        let want: Vec<u8> = (0..padded.len())
            .step_by(8)
            .map(|i| u8::from_str_radix(&padded[i..i + 8], 2).unwrap())
            .collect();
        let mut got = BytesMut::new();
        huffman::encode(&[sym as u8], &mut got);
        assert_eq!(&got[..], &want[..], "symbol {sym}: code {bits}");
        let mut back = BytesMut::new();
        huffman::decode(&got, &mut back).unwrap();
        assert_eq!(&back[..], &[sym as u8]);
        seen += 1;
    }
    assert_eq!(seen, 257);
}
