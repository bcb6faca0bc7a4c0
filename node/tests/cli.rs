//! The `volt` binary as a user runs it: help with examples, exit codes, one-line errors,
//! `node init` / `node run --check`, genesis files, and `volt pilot`.

// Test helpers: a failed spawn or temp dir is a broken test machine, so panicking is right.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn volt(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_volt"))
        .args(args)
        .env_remove("VOLT_HOME")
        .env_remove("RUST_LOG")
        .output()
        .expect("the volt binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A fresh, empty directory for one test.
fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("volt-cli-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Asserts exit code `code` and a single `error: …` line on stderr containing `needle`.
fn assert_error(out: &Output, code: i32, needle: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    assert!(err.starts_with("error: ") && err.ends_with('\n'), "{err:?}");
    assert_eq!(err.lines().count(), 1, "one line expected: {err:?}");
    assert!(err.contains(needle), "{needle:?} missing in {err:?}");
    assert!(!err.contains("backtrace") && !err.contains("panicked"), "{err}");
}

#[test]
fn every_subcommand_help_shows_a_worked_example() {
    // Proves each command's --help carries an example of its own use, and the top level
    // documents the exit codes.
    let top = volt(&["--help"]);
    assert!(top.status.success());
    let text = stdout(&top);
    for needle in ["Exit codes:", "3  invalid config", "volt node run --dev"] {
        assert!(text.contains(needle), "{needle:?} missing in {text}");
    }
    for (args, example) in [
        (&["pilot"][..], "volt pilot --hours 1"),
        (&["node"], "volt node run --dev"),
        (&["node", "init"], "volt node init --home"),
        (&["node", "run"], "volt node run --home"),
        (&["genesis"], "volt genesis show"),
        (&["genesis", "pilot"], "volt genesis pilot --out"),
        (&["genesis", "dev"], "volt genesis dev --out"),
        (&["genesis", "show"], "volt genesis show genesis.json"),
    ] {
        let mut full = args.to_vec();
        full.push("--help");
        let out = volt(&full);
        assert!(out.status.success(), "{full:?}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(text.contains("Examples:") && text.contains(example), "{full:?}:\n{text}");
    }
}

#[test]
fn usage_errors_exit_with_two() {
    // Proves clap's usage errors keep exit code 2 (an unknown flag, a value out of range).
    assert_eq!(volt(&["node", "run", "--bogus"]).status.code(), Some(2));
    assert_eq!(volt(&["pilot", "--validators", "3"]).status.code(), Some(2));
    assert_eq!(volt(&["node", "run"]).status.code(), Some(2), "--home or --dev is required");
    assert_eq!(volt(&["node", "run", "--dev", "--log-format", "xml"]).status.code(), Some(2));
}

#[test]
fn node_init_writes_a_config_that_node_run_loads() {
    // Proves `node init` writes a config and a genesis that `node run --check` accepts, that
    // init never overwrites the config, and that flags are applied over the file.
    let home = fresh_dir("init");
    let out = volt(&["node", "init", "--home", path(&home), "--dev"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(home.join("config.toml").is_file() && home.join("genesis.json").is_file());
    let out = volt(&["node", "run", "--home", path(&home), "--check"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("chain volt-hk-dev, 1 validator)") && text.contains("DEMO"), "{text}");
    assert!(text.contains("grpc 127.0.0.1:50051"), "{text}");
    let out = volt(&["node", "run", "--home", path(&home), "--check", "--grpc-listen", "[::1]:7"]);
    assert!(stdout(&out).contains("grpc [::1]:7,"), "{}", stdout(&out));

    let again = volt(&["node", "init", "--home", path(&home)]);
    assert_error(&again, 3, "config.toml: already exists; refusing to overwrite it");

    let plain = fresh_dir("init-plain");
    assert!(volt(&["node", "init", "--home", path(&plain)]).status.success());
    let out = volt(&["node", "run", "--home", path(&plain), "--check"]);
    assert!(stdout(&out).contains("chain volt-hk-pilot, 4 validators)"), "{}", stdout(&out));
    let _ = std::fs::remove_dir_all(&home);
    let _ = std::fs::remove_dir_all(&plain);
}

#[test]
fn an_invalid_config_exits_with_three_naming_the_field() {
    // Proves a bad limit, an unknown key and a missing config are one sentence with code 3.
    let home = fresh_dir("invalid");
    assert!(volt(&["node", "init", "--home", path(&home), "--dev"]).status.success());
    let file = home.join("config.toml");
    let original = std::fs::read_to_string(&file).unwrap();
    let zero = original.replace("mempool_txs_max = 20000", "mempool_txs_max = 0");
    assert_ne!(zero, original);
    std::fs::write(&file, zero).unwrap();
    let out = volt(&["node", "run", "--home", path(&home)]);
    assert_error(&out, 3, "limits.mempool_txs_max must be between 1 and 1000000, got 0");

    std::fs::write(&file, format!("{original}\nmempool_size = 5\n")).unwrap();
    let out = volt(&["node", "run", "--home", path(&home), "--check"]);
    assert_error(&out, 3, "unknown field `mempool_size`");

    let out = volt(&["node", "run", "--home", path(&home.join("nowhere"))]);
    assert_error(&out, 3, "config.toml: not found; run `volt node init --home` first");
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn genesis_pilot_then_show_gives_the_embedded_id() {
    // Proves the written pilot file reads back, validated, to the embedded document's id, in
    // text and JSON; an existing file is kept; a corrupted one names its field with code 3.
    let dir = fresh_dir("genesis");
    let file = dir.join("pilot.json");
    let out = volt(&["genesis", "pilot", "--out", path(&file)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let id = volt_genesis::hong_kong_pilot().id().to_string();
    let show = volt(&["genesis", "show", path(&file)]);
    assert!(show.status.success(), "{}", stderr(&show));
    assert!(stdout(&show).starts_with(&format!("genesis     {id}\n")), "{}", stdout(&show));
    assert!(stdout(&show).contains("hkt-1"));
    let json: serde_json::Value =
        serde_json::from_slice(&volt(&["genesis", "show", "--json", path(&file)]).stdout).unwrap();
    assert_eq!(json["id"], id.as_str());
    assert_eq!(json["chain_id"], "volt-hk-pilot");
    assert_eq!(json["validators"].as_array().map(Vec::len), Some(4));

    let again = volt(&["genesis", "pilot", "--out", path(&file)]);
    assert_error(&again, 3, "pass --force");

    let dev = dir.join("dev.json");
    let out = volt(&["genesis", "dev", "--out", path(&dev), "--genesis-time", "1780243200000"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let dev_id = volt_genesis::dev_pilot(volt_genesis::PILOT_GENESIS_TIME).id().to_string();
    assert!(stdout(&volt(&["genesis", "show", path(&dev)])).contains(&dev_id));

    let text = std::fs::read_to_string(&file).unwrap();
    let broken = text.replacen("\"slots\": ", "\"slots\": 9", 1);
    std::fs::write(&file, broken).unwrap();
    let out = volt(&["genesis", "show", path(&file)]);
    assert_error(&out, 3, "stations[0].slots");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn volt_pilot_still_runs() {
    // Proves `volt pilot` on clap keeps its options and runs the pilot to an agreed summary.
    let out = volt(&["pilot", "--hours", "1", "--swaps-per-hour", "30", "--progress-every", "0"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("volt pilot: chain volt-hk-pilot"), "{text}");
    assert!(text.contains("identical on all 4 validators"), "{text}");
}
