//! The harness of the tests that need external peers
//! (`tests/support/harness.rs`): a test whose peer is missing is counted
//! ignored, with the reason, never passed; under `CI=true` it fails. Each
//! scenario runs the harness on a few dummy tests, its output going to a log
//! file, and checks the returned `Conclusion` and the log.

#[path = "support/harness.rs"]
mod harness;

use std::sync::atomic::{AtomicUsize, Ordering};

use harness::Need::{self, Check, Program, Python};
use harness::Test;
use libtest_mimic::{Arguments, ColorSetting, Conclusion};

/// A program that exists nowhere.
const MISSING: &str = "h2actor-no-such-tool";

fn needs_missing_program() {
    let _ = harness::program(MISSING);
    panic!("ran without its program");
}

fn needs_missing_module() {
    panic!("ran without its Python module");
}

fn needs_sh() {
    assert!(harness::program("sh").is_file());
}

fn needs_nothing() {}

/// Runs `tests` with `ci` like a target's `main`, the output to a log file.
fn run(tests: Vec<Test>, ci: bool, extra: impl FnOnce(&mut Arguments)) -> (Conclusion, String) {
    static N: AtomicUsize = AtomicUsize::new(0);
    let log = std::env::temp_dir().join(format!(
        "h2actor-harness-skips-{}-{}.log",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let mut args = Arguments {
        logfile: Some(log.to_str().expect("utf-8 temp path").into()),
        color: Some(ColorSetting::Never),
        test_threads: Some(1),
        ..Arguments::default()
    };
    extra(&mut args);
    let conclusion = harness::run(&args, tests, ci);
    let text = std::fs::read_to_string(&log).expect("read the log");
    let _ = std::fs::remove_file(&log);
    (conclusion, text)
}

fn counts(c: &Conclusion) -> (u64, u64, u64) {
    (c.num_passed, c.num_failed, c.num_ignored)
}

fn missing_program_is_ignored_with_its_reason() {
    let (c, log) = run(
        harness::tests![needs_missing_program: [Program(MISSING)]],
        false,
        |_| {},
    );
    assert_eq!(counts(&c), (0, 0, 1), "(passed, failed, ignored):\n{log}");
    assert!(!c.has_failed());
    assert!(
        log.contains(&format!(
            "needs_missing_program ... ignored (needs {MISSING}; not on PATH)"
        )),
        "{log}"
    );
    assert!(log.contains("0 passed; 0 failed; 1 ignored"), "{log}");
}

fn missing_program_fails_under_ci() {
    let (c, log) = run(
        harness::tests![needs_missing_program: [Program(MISSING)]],
        true,
        |_| {},
    );
    assert_eq!(counts(&c), (0, 1, 0), "(passed, failed, ignored):\n{log}");
    assert!(c.has_failed());
    assert!(log.contains("needs_missing_program ... FAILED"), "{log}");
    assert!(
        log.contains(&format!(
            "needs {MISSING}; not on PATH (CI=true: every peer must run)"
        )),
        "{log}"
    );
}

/// `--ignored` runs the ignored tests; a test whose peer is missing still
/// does not run (and so cannot pass).
fn missing_program_is_not_run_by_include_ignored() {
    let (c, log) = run(
        harness::tests![needs_missing_program: [Program(MISSING)]],
        false,
        |a| a.include_ignored = true,
    );
    assert_eq!(counts(&c), (0, 0, 1), "(passed, failed, ignored):\n{log}");
}

fn missing_python_module_is_ignored_with_its_reason() {
    let (c, log) = run(
        harness::tests![needs_missing_module: [Python("h2actor_no_such_module")]],
        false,
        |_| {},
    );
    assert_eq!(counts(&c), (0, 0, 1), "(passed, failed, ignored):\n{log}");
    assert!(
        log.contains("ignored (needs Python module h2actor_no_such_module"),
        "{log}"
    );
}

/// Tests whose needs are there, or that need nothing, run, with or without
/// CI.
fn present_or_no_needs_run() {
    for ci in [false, true] {
        let (c, log) = run(
            harness::tests![needs_sh: [Program("sh")], needs_nothing],
            ci,
            |_| {},
        );
        assert_eq!(counts(&c), (2, 0, 0), "(passed, failed, ignored):\n{log}");
    }
}

/// Filters and `--list` work as with libtest.
fn filters_and_list_work() {
    let (c, log) = run(
        harness::tests![needs_missing_program: [Program(MISSING)], needs_nothing],
        false,
        |a| a.filter = Some("nothing".into()),
    );
    assert_eq!(counts(&c), (1, 0, 0), "(passed, failed, ignored):\n{log}");
    assert_eq!(c.num_filtered_out, 1);
    let (_, log) = run(
        harness::tests![needs_missing_program: [Program(MISSING)], needs_nothing],
        false,
        |a| a.list = true,
    );
    assert!(log.contains("needs_missing_program: test"), "{log}");
    assert!(log.contains("needs_nothing: test"), "{log}");
}

static CHECKS: AtomicUsize = AtomicUsize::new(0);

const COUNTED: Need = Check("a counted thing", || {
    CHECKS.fetch_add(1, Ordering::SeqCst);
    Err("absent".into())
});

/// A need shared by several tests is checked once; a reason lists every
/// missing need.
fn each_need_is_checked_once() {
    let (c, log) = run(
        harness::tests![
            needs_missing_program: [COUNTED, Program(MISSING)],
            needs_missing_module: [COUNTED],
        ],
        false,
        |_| {},
    );
    assert_eq!(counts(&c), (0, 0, 2), "(passed, failed, ignored):\n{log}");
    assert_eq!(CHECKS.load(Ordering::SeqCst), 1);
    assert!(
        log.contains(&format!(
            "ignored (needs a counted thing; absent, needs {MISSING}; not on PATH)"
        )),
        "{log}"
    );
}

/// The peers of this crate's tests name their Debian package.
fn reasons_name_the_debian_package() {
    for (program, package) in [
        ("nghttp", "nghttp2-client"),
        ("h2load", "nghttp2-client"),
        ("nghttpd", "nghttp2-server"),
        ("curl", "curl"),
        ("node", "nodejs"),
    ] {
        assert_eq!(
            Program(program).describe(),
            format!("needs {program} (Debian {package})")
        );
    }
}

/// In a `harness = false` target a `#[test]` function is compiled out
/// without a word: none may be left in those targets.
fn no_test_attributes_in_harness_false_targets() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml");
    let mut targets = Vec::new();
    for section in manifest.split("[[").filter(|s| s.starts_with("test]]")) {
        let field = |key: &str| {
            section.lines().find_map(|l| {
                let (k, v) = l.split_once('=')?;
                (k.trim() == key).then(|| v.trim().trim_matches('"').to_string())
            })
        };
        if field("harness").as_deref() == Some("false") {
            let name = field("name").expect("[[test]] name");
            targets.push(field("path").unwrap_or(format!("tests/{name}.rs")));
        }
    }
    assert!(targets.len() >= 8, "{targets:?}");
    for target in targets {
        let src = std::fs::read_to_string(root.join(&target)).expect("test source");
        for (i, line) in src.lines().enumerate() {
            let l = line.trim();
            assert!(
                !(l.starts_with("#[") && (l.starts_with("#[test") || l.contains("::test"))),
                "{target}:{}: `{l}` would never run (harness = false): list the function in main",
                i + 1
            );
        }
    }
}

fn main() {
    harness::main(harness::tests![
        missing_program_is_ignored_with_its_reason,
        missing_program_fails_under_ci,
        missing_program_is_not_run_by_include_ignored,
        missing_python_module_is_ignored_with_its_reason,
        present_or_no_needs_run,
        filters_and_list_work,
        each_need_is_checked_once,
        reasons_name_the_debian_package,
        no_test_attributes_in_harness_false_targets,
    ]);
}
