//! One progress interface for long work (proving, key generation, audit batches): the CLI's
//! bars and the server's job records implement it, the provers only call it.
//!
//! A prover announces each stage with its number of steps, advances it, and asks between steps
//! whether to stop; a stage it cannot subdivide is one step.

/// Receives progress reports; shared across threads (proving runs on a blocking pool).
pub trait Progress: Send + Sync {
    /// A new stage `name` with `total` steps begins (its done count is 0).
    fn stage(&self, name: &str, total: u64);
    /// `n` more steps of the current stage are done.
    fn inc(&self, n: u64);
    /// Whether the work should stop at the next step boundary (a cancelled job).
    fn cancelled(&self) -> bool {
        false
    }
}

/// Reports nothing, never cancels.
pub struct NoProgress;

impl Progress for NoProgress {
    fn stage(&self, _: &str, _: u64) {}
    fn inc(&self, _: u64) {}
}

/// Runs `f` as a one-step stage `name` of `p`; `None` (without running it) when `p` was
/// cancelled before it.
pub fn step<T>(p: &dyn Progress, name: &str, f: impl FnOnce() -> T) -> Option<T> {
    if p.cancelled() {
        return None;
    }
    p.stage(name, 1);
    let out = f();
    p.inc(1);
    Some(out)
}
