//! Replays the fuzz corpus (`fuzz/corpus/<target>/`) and the fuzzers'
//! findings (`fuzz/regressions/<target>/`) through the same functions the
//! cargo-fuzz targets call (the harness crate `fuzz/harness/`), so every
//! `cargo test --all-features` runs them without cargo-fuzz.
//!
//! To write the hand-made seeds (sealed with the targets' fixed key) into
//! the corpus again:
//! `cargo test --features fuzzing --test fuzz_corpus -- --ignored write_seed_corpus`.

use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use fuzz_harness::{seeds, Target, TARGETS};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The files of `dir`, sorted; none when it does not exist.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// Runs every input through `run`; the inputs that panicked, with the
/// panic's message.
fn replay<'a>(run: fn(&[u8]), inputs: impl IntoIterator<Item = (String, &'a [u8])>) -> Vec<String> {
    let mut failures = Vec::new();
    for (name, data) in inputs {
        if let Err(panic) = panic::catch_unwind(AssertUnwindSafe(|| run(data))) {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            failures.push(format!("{name}: {message}"));
        }
    }
    failures
}

fn replay_dir(target: &Target, dir: &Path) -> (usize, Vec<String>) {
    let inputs: Vec<(String, Vec<u8>)> = files(dir)
        .into_iter()
        .map(|path| {
            let data = fs::read(&path).expect("readable corpus file");
            (path.display().to_string(), data)
        })
        .collect();
    let failures = replay(
        target.run,
        inputs
            .iter()
            .map(|(name, data)| (name.clone(), data.as_slice())),
    );
    (inputs.len(), failures)
}

#[test]
fn every_corpus_input_passes_its_target() {
    let mut failures = Vec::new();
    for target in TARGETS {
        let (count, failed) = replay_dir(target, &fuzz_dir().join("corpus").join(target.name));
        assert!(count > 0, "fuzz/corpus/{} has no inputs", target.name);
        failures.extend(failed);
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn every_recorded_finding_passes_its_target() {
    let mut failures = Vec::new();
    for target in TARGETS {
        let dir = fuzz_dir().join("regressions").join(target.name);
        failures.extend(replay_dir(target, &dir).1);
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn every_input_directory_belongs_to_a_target() {
    for kind in ["corpus", "regressions"] {
        let Ok(entries) = fs::read_dir(fuzz_dir().join(kind)) else {
            continue;
        };
        for entry in entries {
            let entry = entry.expect("readable directory entry");
            let name = entry.file_name().to_string_lossy().into_owned();
            assert!(
                TARGETS.iter().any(|target| target.name == name),
                "fuzz/{kind}/{name} has no function in fuzz_harness::TARGETS"
            );
        }
    }
}

#[test]
fn every_target_has_a_cargo_fuzz_binary() {
    let manifest = fs::read_to_string(fuzz_dir().join("Cargo.toml")).expect("fuzz/Cargo.toml");
    for target in TARGETS {
        let file = fuzz_dir()
            .join("fuzz_targets")
            .join(format!("{}.rs", target.name));
        let source = fs::read_to_string(&file).expect("the target's file");
        assert!(
            source.contains(&format!("fuzz_harness::{}(", target.name)),
            "{} does not call fuzz_harness::{}",
            file.display(),
            target.name
        );
        assert!(
            manifest.contains(&format!("name = \"{}\"", target.name)),
            "fuzz/Cargo.toml has no [[bin]] named {}",
            target.name
        );
    }
}

#[test]
fn freshly_sealed_seeds_pass_their_targets() {
    let seeds = seeds();
    for target in TARGETS {
        let mine: Vec<_> = seeds
            .iter()
            .filter(|seed| seed.target == target.name)
            .map(|seed| (seed.name.clone(), seed.data.as_slice()))
            .collect();
        assert!(!mine.is_empty(), "no seeds for {}", target.name);
        let failures = replay(target.run, mine);
        assert!(failures.is_empty(), "{failures:#?}");
    }
}

#[test]
fn a_target_that_panics_fails_the_replay() {
    fn panics_on_x(data: &[u8]) {
        assert!(!data.contains(&b'x'), "found an x");
    }
    let inputs = [("fine".to_owned(), &b"abc"[..]), ("bad".to_owned(), b"xyz")];
    let failures = replay(panics_on_x, inputs);
    assert_eq!(failures, ["bad: found an x"]);
}

/// Writes the hand-made seeds into `fuzz/corpus/<target>/seed-<name>`,
/// replacing those of the same name.
#[test]
#[ignore = "writes the seed corpus; run by hand"]
fn write_seed_corpus() {
    for seed in seeds() {
        let dir = fuzz_dir().join("corpus").join(seed.target);
        fs::create_dir_all(&dir).expect("corpus directory");
        fs::write(dir.join(&seed.name), &seed.data).expect("seed written");
    }
}
