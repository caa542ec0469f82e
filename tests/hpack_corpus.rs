//! The public hpack-test-case corpus (https://github.com/http2jp/hpack-test-case).
//!
//! - Every story of every implementation folder decodes with our decoder to
//!   exactly its headers, in order, with `header_table_size` applied.
//! - Every `raw-data` story encoded by our encoder decodes back identically
//!   with our decoder and with Python's `hpack` package (an independent
//!   implementation).
//!
//! The corpus is found via `H2ACTOR_HPACK_CORPUS`, then
//! `<manifest>/../shared/hpack-test-case`, then `/work/shared/hpack-test-case`.
//! Missing corpus or Python `hpack`: the test fails under `CI=true`, and is
//! reported ignored with the reason otherwise (`tests/support/harness.rs`).

#[path = "support/harness.rs"]
mod harness;

use bytes::BytesMut;
use h2actor::hpack::{Decoder, Encoder, FieldRef, DEFAULT_TABLE_SIZE};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

use harness::Need;

fn find_corpus() -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Ok(p) = std::env::var("H2ACTOR_HPACK_CORPUS") {
        candidates.push(PathBuf::from(p));
    }
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/hpack-test-case"));
    candidates.push(PathBuf::from("/work/shared/hpack-test-case"));
    candidates.into_iter().find(|p| p.join("raw-data").is_dir())
}

const CORPUS: Need = Need::Check("the hpack-test-case corpus", || match find_corpus() {
    Some(_) => Ok(()),
    None => Err("not found (set H2ACTOR_HPACK_CORPUS)".into()),
});

fn corpus_dir() -> PathBuf {
    find_corpus().expect("hpack-test-case corpus (listed as CORPUS with the test)")
}

type Headers = Vec<(Vec<u8>, Vec<u8>)>;

struct Case {
    table_size: Option<usize>,
    wire: Option<Vec<u8>>,
    headers: Headers,
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn load_story(path: &Path) -> Vec<Case> {
    let text = std::fs::read_to_string(path).expect("read story");
    let json: Value = serde_json::from_str(&text).expect("story json");
    json["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| Case {
            table_size: c
                .get("header_table_size")
                .and_then(Value::as_u64)
                .map(|n| n as usize),
            wire: c.get("wire").and_then(Value::as_str).map(unhex),
            headers: c["headers"]
                .as_array()
                .expect("headers")
                .iter()
                .flat_map(|h| h.as_object().expect("header object").iter())
                .map(|(k, v)| {
                    (
                        k.as_bytes().to_vec(),
                        v.as_str().expect("string value").as_bytes().to_vec(),
                    )
                })
                .collect(),
        })
        .collect()
}

fn stories(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    v.sort();
    v
}

fn every_corpus_story_decodes_to_its_headers() {
    let root = corpus_dir();
    let mut folders: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("read corpus")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.is_dir()
                && !p.ends_with("raw-data")
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    folders.sort();
    assert!(
        folders.len() >= 5,
        "expected the implementation folders in {root:?}"
    );
    let (mut n_stories, mut n_cases) = (0, 0);
    for folder in &folders {
        for story in stories(folder) {
            let mut dec = Decoder::new(DEFAULT_TABLE_SIZE, usize::MAX);
            let mut out = Vec::new();
            for (i, case) in load_story(&story).iter().enumerate() {
                if let Some(n) = case.table_size {
                    dec.set_max_table_size(n);
                }
                let wire = case.wire.as_ref().expect("wire");
                out.clear();
                dec.decode(wire, &mut out)
                    .unwrap_or_else(|e| panic!("{story:?} case {i}: {e}"));
                let got: Headers = out
                    .iter()
                    .map(|f| (f.name.to_vec(), f.value.to_vec()))
                    .collect();
                assert!(
                    got == case.headers,
                    "{story:?} case {i}: decoded list differs"
                );
                n_cases += 1;
            }
            n_stories += 1;
        }
    }
    eprintln!(
        "decoded {n_cases} blocks of {n_stories} stories in {} folders",
        folders.len()
    );
}

const PY_CHECK: &str = r#"
import json, sys
import hpack
data = json.load(open(sys.argv[1]))
n = 0
for story in data:
    d = hpack.Decoder()
    d.max_header_list_size = 1 << 30
    for i, case in enumerate(story["cases"]):
        if "max_table" in case:
            d.max_allowed_table_size = case["max_table"]
        got = d.decode(bytes.fromhex(case["wire"]), raw=True)
        want = [(bytes.fromhex(k), bytes.fromhex(v)) for k, v in case["headers"]]
        got = [(bytes(k), bytes(v)) for k, v in got]
        if got != want:
            print("MISMATCH", story["name"], i, file=sys.stderr)
            sys.exit(1)
        n += 1
print(n)
"#;

/// SETTINGS_HEADER_TABLE_SIZE values the peer announces before some blocks
/// of the "sizes" pass: down, to 0, up, several at once (RFC 7541 §4.2).
fn size_schedule(case: usize) -> &'static [usize] {
    match case % 10 {
        3 => &[1024],
        5 => &[0, 4096],
        7 => &[256],
        9 => &[8192, 100, 2048],
        _ => &[],
    }
}

fn raw_data_stories_round_trip_through_our_encoder_and_two_decoders() {
    let root = corpus_dir();
    let mut json_stories = Vec::new();
    // Two passes: the default table, then table sizes changing between blocks.
    for sizes in [false, true] {
        let (mut total_plain, mut total_wire) = (0usize, 0usize);
        for story in stories(&root.join("raw-data")) {
            let mut enc = Encoder::new(DEFAULT_TABLE_SIZE);
            let mut dec = Decoder::new(DEFAULT_TABLE_SIZE, usize::MAX);
            let mut json_cases = Vec::new();
            let mut out = Vec::new();
            for (i, case) in load_story(&story).iter().enumerate() {
                let schedule = if sizes { size_schedule(i) } else { &[] };
                for &n in schedule {
                    enc.set_peer_max_table_size(n);
                    dec.set_max_table_size(n);
                }
                let mut wire = BytesMut::new();
                enc.encode(
                    case.headers.iter().map(|(n, v)| FieldRef::new(n, v)),
                    &mut wire,
                );
                out.clear();
                dec.decode(&wire, &mut out)
                    .unwrap_or_else(|e| panic!("{story:?} case {i}: {e}"));
                let got: Headers = out
                    .iter()
                    .map(|f| (f.name.to_vec(), f.value.to_vec()))
                    .collect();
                assert!(
                    got == case.headers,
                    "{story:?} case {i}: round trip differs"
                );
                assert_eq!(
                    enc.table_size(),
                    dec.table_size(),
                    "{story:?} case {i}: tables out of sync"
                );
                total_plain += case
                    .headers
                    .iter()
                    .map(|(n, v)| n.len() + v.len())
                    .sum::<usize>();
                total_wire += wire.len();
                let mut json_case = serde_json::json!({
                    "wire": hex(&wire),
                    "headers": case.headers.iter().map(|(n, v)| [hex(n), hex(v)]).collect::<Vec<_>>(),
                });
                if let Some(&last) = schedule.last() {
                    json_case["max_table"] = last.into();
                }
                json_cases.push(json_case);
            }
            json_stories.push(serde_json::json!({
                "name": format!("{}{}", story.file_name().unwrap().to_string_lossy(), if sizes { " (sizes)" } else { "" }),
                "cases": json_cases,
            }));
        }
        eprintln!(
            "encoded raw-data{}: {total_plain} octets of names and values -> {total_wire} octets ({:.1}%)",
            if sizes { " with changing table sizes" } else { "" },
            100.0 * total_wire as f64 / total_plain as f64
        );
    }

    // The independent decoder.
    let path =
        std::env::temp_dir().join(format!("h2actor-hpack-corpus-{}.json", std::process::id()));
    std::fs::write(&path, serde_json::to_vec(&json_stories).unwrap()).expect("write temp json");
    let result = Command::new("python3")
        .arg("-c")
        .arg(PY_CHECK)
        .arg(&path)
        .output();
    let _ = std::fs::remove_file(&path);
    let output = result.expect("python3 not runnable");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "python hpack rejected our encoding: {stderr}"
    );
    let n: usize = String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .expect("count");
    assert!(n > 0);
    eprintln!("python hpack decoded {n} of our blocks identically");
}

fn main() {
    harness::main(harness::tests![
        every_corpus_story_decodes_to_its_headers: [CORPUS],
        raw_data_stories_round_trip_through_our_encoder_and_two_decoders: [CORPUS, Need::Python("hpack")],
    ]);
}
