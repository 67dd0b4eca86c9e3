//! Compiling Solidity with a `--standard-json` compiler: by default solcjs (the repo's npm
//! `solc` package) through `tools/solc-shim/solc.js`, with the Yul optimizer OFF (the
//! generated verifiers hit "stack too deep", or exhaust solcjs's memory, with it on) but the
//! bytecode-level optimizer on at `runs = 1` (deduplication, peephole and constant
//! optimisation: ~2 % smaller verifiers), and EVM version `paris` (no PUSH0: deployable on
//! every EVM chain; `contracts/` targets the same fork).
//!
//! Compiler lookup: `$TRUSTML_SOLC` (a `solc`-compatible executable, e.g. the shim's `solc`
//! wrapper or a native solc 0.8.19+), else `tools/solc-shim/solc.js` found above the current
//! directory or this crate's source directory, run with `node`.

use crate::{io_err, Error, GeneratedVerifier, Result, EIP170_MAX_RUNTIME_BYTES};
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Bytecode of one compiled contract.
#[derive(Clone, Debug)]
pub struct CompiledContract {
    /// Creation (deployment) bytecode, without constructor arguments.
    pub creation: Vec<u8>,
    /// Runtime bytecode (what ends up at the contract's address).
    pub runtime: Vec<u8>,
    /// Compiler version.
    pub compiler: String,
}

/// How to run the compiler.
#[derive(Clone, Debug)]
pub struct Solc {
    program: PathBuf,
    args: Vec<String>,
}

const SHIP: &str = "tools/solc-shim/solc.js";

fn find_shim() -> Option<PathBuf> {
    let mut starts = vec![];
    if let Ok(cwd) = std::env::current_dir() {
        starts.push(cwd);
    }
    starts.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    for s in starts {
        for dir in s.ancestors() {
            let p = dir.join(SHIP);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

impl Solc {
    /// Finds the compiler (see the module docs).
    pub fn find() -> Result<Self> {
        if let Some(p) = std::env::var_os("TRUSTML_SOLC").filter(|p| !p.is_empty()) {
            return Ok(Self {
                program: PathBuf::from(p),
                args: vec![],
            });
        }
        match find_shim() {
            Some(shim) => Ok(Self { program: PathBuf::from("node"), args: vec![shim.display().to_string()] }),
            None => Err(Error::Solc(format!(
                "no Solidity compiler: set TRUSTML_SOLC to a solc-compatible executable, or run from the trustml repository (which has {SHIP}) after `npm ci`"
            ))),
        }
    }

    fn command(&self) -> Command {
        let mut c = Command::new(&self.program);
        c.args(&self.args);
        c
    }

    /// `solc --version`'s version line.
    pub fn version(&self) -> Result<String> {
        let out = self
            .command()
            .arg("--version")
            .output()
            .map_err(|e| Error::Solc(format!("running {}: {e}", self.program.display())))?;
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines()
            .find_map(|l| l.strip_prefix("Version: ").map(str::to_string))
            .ok_or_else(|| {
                Error::Solc(format!(
                    "unexpected `--version` output: {text}{}",
                    String::from_utf8_lossy(&out.stderr)
                ))
            })
    }

    /// Runs Standard JSON; returns the output JSON (errors of severity "error" are an `Err`).
    pub fn standard_json(&self, input: &Value) -> Result<Value> {
        let mut child = self
            .command()
            .arg("--standard-json")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                Error::Solc(format!(
                    "running {}: {e} (is node installed?)",
                    self.program.display()
                ))
            })?;
        let body = input.to_string();
        let mut stdin = child.stdin.take().expect("piped");
        let writer = std::thread::spawn(move || stdin.write_all(body.as_bytes()));
        let out = child
            .wait_with_output()
            .map_err(|e| Error::Solc(e.to_string()))?;
        let _ = writer.join();
        if !out.status.success() {
            return Err(Error::Solc(format!(
                "compiler exited with {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        let v: Value = serde_json::from_slice(&out.stdout).map_err(|e| {
            Error::Solc(format!(
                "compiler output is not JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
                    .chars()
                    .take(500)
                    .collect::<String>()
            ))
        })?;
        let errors: Vec<String> = v["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["severity"] == "error")
            .map(|e| {
                e["formattedMessage"]
                    .as_str()
                    .or(e["message"].as_str())
                    .unwrap_or("?")
                    .to_string()
            })
            .collect();
        if !errors.is_empty() {
            return Err(Error::Solc(errors.join("\n")));
        }
        Ok(v)
    }

    /// Compiles `sources` (name → content) and returns `contract` from `file`.
    pub fn compile(
        &self,
        sources: &[(&str, &str)],
        file: &str,
        contract: &str,
    ) -> Result<CompiledContract> {
        let srcs: serde_json::Map<String, Value> = sources
            .iter()
            .map(|(n, c)| (n.to_string(), json!({ "content": c })))
            .collect();
        let input = json!({
            "language": "Solidity",
            "sources": srcs,
            "settings": {
                "optimizer": { "enabled": true, "runs": 1, "details": { "yul": false } },
                "evmVersion": "paris",
                "outputSelection": { "*": { "*": ["evm.bytecode.object", "evm.deployedBytecode.object"] } }
            }
        });
        let out = self.standard_json(&input)?;
        let c = &out["contracts"][file][contract];
        let decode = |v: &Value, what: &str| -> Result<Vec<u8>> {
            let h = v.as_str().ok_or_else(|| {
                Error::Solc(format!(
                    "no {what} for {file}:{contract} in the compiler output"
                ))
            })?;
            let b = hex::decode(h.trim_start_matches("0x")).map_err(|e| {
                Error::Solc(format!("{what} is not hex ({e}); unlinked libraries?"))
            })?;
            // A failed or abstract compile yields empty bytecode, and a call to an empty
            // account "succeeds": never hand that on.
            if b.is_empty() {
                return Err(Error::Solc(format!("empty {what} for {file}:{contract}")));
            }
            Ok(b)
        };
        Ok(CompiledContract {
            creation: decode(&c["evm"]["bytecode"]["object"], "creation bytecode")?,
            runtime: decode(&c["evm"]["deployedBytecode"]["object"], "runtime bytecode")?,
            compiler: self.version().unwrap_or_default(),
        })
    }
}

/// Relaxes the generated `pragma solidity 0.8.19;` to `^0.8.19` so newer compilers work too.
fn relax_pragma(src: &str) -> String {
    src.replacen("pragma solidity 0.8.19;", "pragma solidity ^0.8.19;", 1)
}

/// Compiles a generated verifier; errors if its runtime code exceeds EIP-170.
pub fn compile_verifier(gen: &GeneratedVerifier) -> Result<CompiledContract> {
    compile_verifier_hinted(gen, "")
}

/// [`compile_verifier`], naming the circuit's current shape (e.g. "dot width 8, 2 lanes")
/// in the EIP-170 error.
pub fn compile_verifier_hinted(gen: &GeneratedVerifier, hint: &str) -> Result<CompiledContract> {
    let c = compile_verifier_unchecked(gen)?;
    check_size(&c, hint)?;
    Ok(c)
}

/// Compiles a generated verifier without the size check (for measuring).
pub fn compile_verifier_unchecked(gen: &GeneratedVerifier) -> Result<CompiledContract> {
    Solc::find()?.compile(
        &[("Verifier.sol", &relax_pragma(&gen.solidity))],
        "Verifier.sol",
        "Halo2Verifier",
    )
}

/// Errors when runtime bytecode exceeds the EIP-170 limit; `hint` names the current
/// compile options (e.g. "dot width 8, 4 lanes"), if known.
pub fn check_size(c: &CompiledContract, hint: &str) -> Result<()> {
    if c.runtime.len() > EIP170_MAX_RUNTIME_BYTES {
        return Err(Error::CodeTooLarge {
            size: c.runtime.len(),
            limit: EIP170_MAX_RUNTIME_BYTES,
            hint: if hint.is_empty() {
                String::new()
            } else {
                format!(" (now {hint})")
            },
        });
    }
    Ok(())
}

/// Compiles a Solidity file from disk (helper for scripts): returns `contract`.
pub fn compile_file(path: &Path, contract: &str) -> Result<CompiledContract> {
    let text = std::fs::read_to_string(path).map_err(io_err(path))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    Solc::find()?.compile(&[(&name, &text)], &name, contract)
}
