//! A throwaway local Anvil for tests and demos: the npm binary in the repository's
//! node_modules, on a free port, killed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Anvil {
    child: Child,
    pub url: String,
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The anvil binary `npm ci` installs under `repo_root`.
pub fn anvil_bin(repo_root: &Path) -> Option<PathBuf> {
    [
        repo_root.join("node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"),
        repo_root.join("node_modules/.bin/anvil"),
    ]
    .into_iter()
    .find(|p| p.exists())
}

impl Anvil {
    /// Starts Anvil (chain id 31337) on a free port and waits until it answers; `None` when
    /// node_modules has no anvil (run `npm ci` at the repository root).
    pub fn start(repo_root: &Path) -> Option<Self> {
        Self::start_with_chain_id(repo_root, 31337)
    }

    /// [`Anvil::start`] with another chain id.
    pub fn start_with_chain_id(repo_root: &Path, chain_id: u64) -> Option<Self> {
        let bin = anvil_bin(repo_root)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let child = Command::new(bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--chain-id", &chain_id.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let a = Anvil {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let t = Instant::now();
        while crate::rpc::chain_id(&a.url).is_err() {
            if t.elapsed() > Duration::from_secs(20) {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(a)
    }
}
