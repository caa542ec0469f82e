//! The test harness of the targets whose tests need an external peer
//! (`harness = false` in Cargo.toml): a missing peer shows in the summary.
//!
//! libtest has no way for a test to say "skipped", so a test that returned
//! early without its peer counted as passed. Here every test lists what it
//! needs; each need is checked once, before any test runs, and a test whose
//! need is missing is reported `ignored (needs nghttp (Debian
//! nghttp2-client); not on PATH)`, or FAILS when `CI=true` (in CI every peer
//! must run). Tests that need nothing run as usual. Filters, `--list`,
//! `--exact`, `--skip`, `--test-threads` work as with libtest (the
//! `libtest-mimic` crate); a test without its peer is ignored when it would
//! run, so `--ignored` does not run it either. Unlike libtest the harness
//! does not capture test output.
//!
//! ```ignore
//! fn main() {
//!     harness::main(harness::tests![
//!         nghttp_get_root: [Program("nghttp")],
//!         raw_data_round_trip: [Python("hpack")],
//!         no_peer_needed,
//!     ]);
//! }
//! ```
//!
//! The test functions are plain `fn()`s without `#[test]` (in a
//! `harness = false` target `#[test]` functions are compiled out, silently);
//! an async test keeps its body under `#[tokio::main(flavor = ...)]`. A test
//! finds its program with [`program`] (`support::tool`).

#![allow(dead_code)] // each target uses a part

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use libtest_mimic::{Arguments, Completion, Conclusion, Failed, Trial};

/// Something a test needs besides this crate.
#[derive(Clone, Copy, Debug)]
pub enum Need {
    /// A program on PATH, e.g. `Program("nghttp")`.
    Program(&'static str),
    /// A Python module that `python3 -c 'import NAME'` loads.
    Python(&'static str),
    /// Anything else: what it is, and a check returning why it is missing.
    Check(&'static str, fn() -> Result<(), String>),
}

impl Need {
    /// What a missing need is called in a reason: "needs nghttp (Debian
    /// nghttp2-client)".
    pub fn describe(&self) -> String {
        match *self {
            Need::Program(name) => needs_program(name),
            Need::Python(module) => {
                format!("needs Python module {module} (pip install {module}, or Debian python3-{module})")
            }
            Need::Check(what, _) => format!("needs {what}"),
        }
    }

    /// `Ok` when the need is there, or why not.
    fn check(&self) -> Result<(), String> {
        match *self {
            Need::Program(name) => match find_program(name) {
                Some(_) => Ok(()),
                None => Err("not on PATH".into()),
            },
            Need::Python(module) => {
                if find_program("python3").is_none() {
                    return Err("python3 not on PATH".into());
                }
                let out = Command::new("python3")
                    .arg("-c")
                    .arg(format!("import {module}"))
                    .stdin(Stdio::null())
                    .output()
                    .map_err(|e| format!("python3 not runnable: {e}"))?;
                if out.status.success() {
                    return Ok(());
                }
                let err = String::from_utf8_lossy(&out.stderr);
                let last = err.lines().last().unwrap_or("").trim();
                Err(format!("python3 -c 'import {module}' failed: {last}"))
            }
            Need::Check(_, check) => check(),
        }
    }

    fn key(&self) -> String {
        match *self {
            Need::Program(name) => format!("program {name}"),
            Need::Python(module) => format!("python {module}"),
            Need::Check(what, _) => format!("check {what}"),
        }
    }
}

/// "needs nghttp (Debian nghttp2-client)".
fn needs_program(name: &str) -> String {
    match debian_package(name) {
        Some(pkg) => format!("needs {name} (Debian {pkg})"),
        None => format!("needs {name}"),
    }
}

/// Where the peers of this crate's tests come from on Debian.
fn debian_package(program: &str) -> Option<&'static str> {
    Some(match program {
        "nghttp" | "h2load" => "nghttp2-client",
        "nghttpd" => "nghttp2-server",
        "curl" => "curl",
        "node" => "nodejs",
        "python3" => "python3",
        "openssl" => "openssl",
        "chromium" => "chromium",
        _ => return None,
    })
}

/// The path of `name` on PATH, if it is there.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// The path of `name` on PATH, for a test that listed `Program(name)`: the
/// harness ran the test, so the program is there. Panics (naming the
/// missing need) when it is not: the test forgot to list it.
pub fn program(name: &str) -> PathBuf {
    find_program(name).unwrap_or_else(|| {
        panic!(
            "{}; not on PATH (list Program({name:?}) with the test so that it is reported)",
            needs_program(name)
        )
    })
}

/// One test: its name, its body, what it needs.
pub type Test = (&'static str, fn(), Vec<Need>);

/// `tests![name, name: [Need, ..], ..]`: the tests of a target, each named
/// like its function.
#[allow(unused_macros)] // in the targets that include support/ for other helpers
macro_rules! tests {
    ($($name:ident $(: [$($need:expr),* $(,)?])?),* $(,)?) => {
        vec![$((stringify!($name), $name as fn(), vec![$($($need),*)?])),*]
    };
}
#[allow(unused_imports)]
pub(crate) use tests;

/// Whether this is a CI run (`CI=true`): there a missing need is a failure.
pub fn ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// The trials of `tests`: a test whose needs are all present runs its body;
/// one with a missing need is ignored with the reason, or fails with it when
/// `ci`. Each need is checked once.
pub fn trials(tests: Vec<Test>, ci: bool) -> Vec<Trial> {
    let mut checked: HashMap<String, Result<(), String>> = HashMap::new();
    tests
        .into_iter()
        .map(|(name, body, needs)| {
            let missing: Vec<String> = needs
                .iter()
                .filter_map(|need| {
                    let found = checked.entry(need.key()).or_insert_with(|| need.check());
                    found
                        .as_ref()
                        .err()
                        .map(|why| format!("{}; {why}", need.describe()))
                })
                .collect();
            if missing.is_empty() {
                return Trial::test(name, move || {
                    body();
                    Ok(())
                });
            }
            let reason = missing.join(", ");
            if ci {
                Trial::test(name, move || {
                    Err(Failed::from(format!(
                        "{reason} (CI=true: every peer must run)"
                    )))
                })
            } else {
                Trial::ignorable_test(name, move || Ok(Completion::ignored_with(reason)))
            }
        })
        .collect()
}

/// Runs `tests` with the command line's arguments (as libtest would) and
/// exits with the result.
pub fn main(tests: Vec<Test>) -> ! {
    run(&Arguments::from_args(), tests, ci()).exit()
}

/// Runs `tests` with `args`, `ci` telling whether a missing need fails.
pub fn run(args: &Arguments, tests: Vec<Test>, ci: bool) -> Conclusion {
    libtest_mimic::run(args, trials(tests, ci))
}
