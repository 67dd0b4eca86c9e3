//! Shrinks snark-verifier's generated Yul by keeping single-use temporaries on the stack.
//!
//! The EVM loader writes every intermediate field element to its own memory word
//! (`mstore(0x2f00, mulmod(mload(0x2ca0), c, f_q))`) and reads it back once or more. About
//! half of those words are read exactly once, right after; each costs a `PUSH2 MSTORE` and
//! a `PUSH2 MLOAD` (8 bytes) for nothing. [`inline_single_use`] substitutes the expression
//! for its single read and drops the store, which takes a Poseidon-hashing circuit's
//! verifier under the EIP-170 limit (and saves gas).
//!
//! The rewrite is sound by construction or not done at all: the source is modelled as
//! straight-line code over 32-byte memory words, and a store `mstore(A, E)` is inlined only
//! if
//! * it is the whole line, and `E` is pure: literals, `f_q`, and `mload`/`mulmod`/`addmod`/
//!   `sub`/`mod`/`add`/`mul`/`calldataload` of those;
//! * `A` is stored exactly once and read exactly once, by `mload(A)` on a later line, and no
//!   memory range (a precompile call's input, a hash, `return`) covers it;
//! * no line between the store and the read writes a word `E` reads;
//! * the line's expression needs at most [`MAX_HEIGHT`] stack slots (`DUP16` is the reach).
//!
//! Any memory access it does not understand (a computed address, an unaligned word, an
//! opcode outside the model) leaves the source unchanged.

use std::collections::{HashMap, HashSet};

/// Most stack slots a line's expression may take. `DUP16` reaches 16 slots down, and below
/// the expression sit the block's variables and `f_q`, which every `mulmod` reads.
const MAX_HEIGHT: usize = 10;

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Num(String),
    Open,
    Close,
    Comma,
    Other(String),
}

#[derive(Clone, Debug)]
struct Spanned {
    tok: Tok,
    start: usize,
    end: usize,
}

fn lex(line: &str) -> Vec<Spanned> {
    let b = line.as_bytes();
    let mut out = vec![];
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        let tok = if c.is_ascii_whitespace() {
            i += 1;
            continue;
        } else if c == b'(' {
            i += 1;
            Tok::Open
        } else if c == b')' {
            i += 1;
            Tok::Close
        } else if c == b',' {
            i += 1;
            Tok::Comma
        } else if c.is_ascii_digit() {
            while i < b.len() && b[i].is_ascii_alphanumeric() {
                i += 1;
            }
            Tok::Num(line[start..i].to_string())
        } else if c.is_ascii_alphabetic() || c == b'_' || c == b'$' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'.') {
                i += 1;
            }
            Tok::Ident(line[start..i].to_string())
        } else {
            i += 1;
            Tok::Other((c as char).to_string())
        };
        out.push(Spanned { tok, start, end: i });
    }
    out
}

/// A parsed Yul expression with its byte span in the line.
#[derive(Clone, Debug)]
enum Expr {
    Num(String),
    Ident(String),
    Call(String, Vec<Expr>),
}

#[derive(Clone, Debug)]
struct Node {
    expr: Expr,
    start: usize,
    end: usize,
    /// Spans of the arguments (for calls).
    args: Vec<Node>,
}

fn parse(toks: &[Spanned], i: usize) -> Option<(Node, usize)> {
    let t = toks.get(i)?;
    match &t.tok {
        Tok::Num(n) => Some((
            Node {
                expr: Expr::Num(n.clone()),
                start: t.start,
                end: t.end,
                args: vec![],
            },
            i + 1,
        )),
        Tok::Ident(name) => {
            if toks.get(i + 1).map(|s| &s.tok) != Some(&Tok::Open) {
                return Some((
                    Node {
                        expr: Expr::Ident(name.clone()),
                        start: t.start,
                        end: t.end,
                        args: vec![],
                    },
                    i + 1,
                ));
            }
            let mut j = i + 2;
            let mut args = vec![];
            if toks.get(j)?.tok == Tok::Close {
                j += 1;
            } else {
                loop {
                    let (a, next) = parse(toks, j)?;
                    args.push(a);
                    j = next;
                    match toks.get(j)?.tok {
                        Tok::Comma => j += 1,
                        Tok::Close => {
                            j += 1;
                            break;
                        }
                        _ => return None,
                    }
                }
            }
            Some((
                Node {
                    expr: Expr::Call(name.clone(), args.iter().map(|a| a.expr.clone()).collect()),
                    start: t.start,
                    end: toks[j - 1].end,
                    args,
                },
                j,
            ))
        }
        _ => None,
    }
}

/// Opcodes that touch memory (or name a range of it), and `call`-like words.
const MEMORY_OPS: &[&str] = &[
    "mload",
    "mstore",
    "mstore8",
    "msize",
    "mcopy",
    "call",
    "callcode",
    "delegatecall",
    "staticcall",
    "create",
    "create2",
    "calldatacopy",
    "codecopy",
    "returndatacopy",
    "extcodecopy",
    "keccak256",
    "return",
    "revert",
    "log0",
    "log1",
    "log2",
    "log3",
    "log4",
];

/// Every outermost call expression on a line (statements such as `x := f(..)` or `f(..)`).
fn calls(line: &str) -> Option<Vec<Node>> {
    let toks = lex(line);
    let mut out = vec![];
    let mut i = 0;
    while i < toks.len() {
        if matches!(toks[i].tok, Tok::Ident(_))
            && toks.get(i + 1).map(|s| &s.tok) == Some(&Tok::Open)
        {
            match parse(&toks, i) {
                Some((node, next)) => {
                    out.push(node);
                    i = next;
                }
                // Solidity around the assembly block (`fallback(bytes calldata) …`): fine
                // unless the line could touch memory.
                None if !toks.iter().any(
                    |t| matches!(&t.tok, Tok::Ident(n) if MEMORY_OPS.contains(&n.as_str())),
                ) =>
                {
                    i += 1
                }
                None => return None,
            }
        } else {
            i += 1;
        }
    }
    Some(out)
}

fn num(e: &Expr) -> Option<u64> {
    match e {
        Expr::Num(s) => match s.strip_prefix("0x") {
            Some(h) => u64::from_str_radix(h, 16).ok(),
            None => s.parse().ok(),
        },
        _ => None,
    }
}

/// Memory effects of one line, in 32-byte words.
#[derive(Default, Debug)]
struct Effects {
    /// Words `mload`ed (literal addresses).
    loads: Vec<u64>,
    /// Words written (by `mstore`, `mstore8` or a call's output range).
    writes: Vec<u64>,
    /// Words read as a range (precompile inputs, hashes, return data).
    range_reads: Vec<u64>,
}

fn words(off: u64, len: u64) -> impl Iterator<Item = u64> {
    let first = off / 32;
    let last = (off + len).div_ceil(32);
    (first..last).map(|w| w * 32)
}

/// Collects a line's memory effects; `None` if some access is outside the model.
fn effects(nodes: &[Node], fx: &mut Effects) -> Option<()> {
    for n in nodes {
        if let Expr::Call(name, args) = &n.expr {
            let lit = |k: usize| args.get(k).and_then(num);
            match name.as_str() {
                "mload" => {
                    let a = lit(0)?;
                    (a % 32 == 0).then_some(())?;
                    fx.loads.push(a);
                }
                "mstore" => {
                    let a = lit(0)?;
                    (a % 32 == 0).then_some(())?;
                    fx.writes.push(a);
                }
                "mstore8" => fx.writes.push(lit(0)? / 32 * 32),
                "staticcall" => {
                    fx.range_reads.extend(words(lit(2)?, lit(3)?));
                    fx.writes.extend(words(lit(4)?, lit(5)?));
                }
                "keccak256" | "return" | "revert" => {
                    fx.range_reads.extend(words(lit(0)?, lit(1)?));
                }
                "calldatacopy" | "codecopy" | "returndatacopy" => {
                    fx.writes.extend(words(lit(0)?, lit(2)?));
                }
                "mcopy" | "call" | "callcode" | "delegatecall" | "create" | "create2"
                | "extcodecopy" | "log0" | "log1" | "log2" | "log3" | "log4" | "msize" => {
                    return None
                }
                _ => {}
            }
            effects(&n.args, fx)?;
        }
    }
    Some(())
}

fn pure(e: &Expr) -> bool {
    match e {
        Expr::Num(_) => true,
        Expr::Ident(i) => i == "f_q",
        Expr::Call(name, args) => {
            matches!(
                name.as_str(),
                "mload" | "mulmod" | "addmod" | "sub" | "mod" | "add" | "mul" | "calldataload"
            ) && args.iter().all(pure)
        }
    }
}

/// Stack slots evaluating `e` takes at its peak: Yul evaluates arguments right to left, so
/// the `i`-th of `n` arguments is evaluated over the `n − 1 − i` already on the stack.
fn height(e: &Expr) -> usize {
    match e {
        Expr::Call(_, args) => {
            let n = args.len();
            args.iter()
                .enumerate()
                .map(|(i, a)| n - 1 - i + height(a))
                .max()
                .unwrap_or(1)
        }
        _ => 1,
    }
}

/// The `mload(addr)` node of a line, if present.
fn find_load(nodes: &[Node], addr: u64) -> Option<(usize, usize)> {
    for n in nodes {
        if let Expr::Call(name, args) = &n.expr {
            if name == "mload" && args.first().and_then(num) == Some(addr) {
                return Some((n.start, n.end));
            }
            if let Some(s) = find_load(&n.args, addr) {
                return Some(s);
            }
        }
    }
    None
}

/// Inlines single-use memory temporaries of a generated verifier (see the module docs).
/// Returns the source unchanged when it holds a memory access the rewrite does not model.
pub fn inline_single_use(src: &str) -> String {
    inline(src).unwrap_or_else(|| src.to_string())
}

fn inline(src: &str) -> Option<String> {
    let mut lines: Vec<String> = src.lines().map(str::to_string).collect();
    let mut fx = Vec::with_capacity(lines.len());
    for l in &lines {
        let mut e = Effects::default();
        effects(&calls(l)?, &mut e)?;
        fx.push(e);
    }
    // Per word: lines that load, write, or read it as part of a range.
    let mut loads: HashMap<u64, Vec<usize>> = HashMap::new();
    let mut writes: HashMap<u64, Vec<usize>> = HashMap::new();
    let mut ranged: HashSet<u64> = HashSet::new();
    for (i, e) in fx.iter().enumerate() {
        for &a in &e.loads {
            loads.entry(a).or_default().push(i);
        }
        for &a in &e.writes {
            writes.entry(a).or_default().push(i);
        }
        ranged.extend(&e.range_reads);
    }
    let written_between = |a: u64, lo: usize, hi: usize| {
        writes
            .get(&a)
            .is_some_and(|ls| ls.iter().any(|&l| l > lo && l < hi))
    };
    // Forward: a store's own inputs were inlined into it before it is considered.
    for d in 0..lines.len() {
        let nodes = calls(&lines[d])?;
        let [node] = nodes.as_slice() else { continue };
        let Expr::Call(name, args) = &node.expr else {
            continue;
        };
        let rest =
            lines[d][..node.start].trim().is_empty() && lines[d][node.end..].trim().is_empty();
        if name != "mstore" || !rest || args.len() != 2 {
            continue;
        }
        let Some(a) = num(&args[0]) else { continue };
        let value = &node.args[1];
        if !pure(&value.expr)
            || height(&value.expr) > MAX_HEIGHT
            || ranged.contains(&a)
            || writes.get(&a).map(Vec::len) != Some(1)
        {
            continue;
        }
        let Some(&[u]) = loads.get(&a).map(Vec::as_slice) else {
            continue;
        };
        if u <= d {
            continue;
        }
        let mut reads = Effects::default();
        effects(std::slice::from_ref(value), &mut reads)?;
        if reads.loads.iter().any(|&r| written_between(r, d, u)) {
            continue;
        }
        let text = lines[d][value.start..value.end].to_string();
        let unodes = calls(&lines[u])?;
        let Some((s, e)) = find_load(&unodes, a) else {
            continue;
        };
        let new = format!("{}{}{}", &lines[u][..s], text, &lines[u][e..]);
        // The read's line must stay shallow too (it may be inlined further).
        if calls(&new)?
            .iter()
            .map(|n| height(&n.expr))
            .max()
            .unwrap_or(0)
            > MAX_HEIGHT
        {
            continue;
        }
        lines[u] = new;
        lines[d].clear();
        // The inlined expression's loads now happen on line u.
        for r in reads.loads {
            if let Some(ls) = loads.get_mut(&r) {
                for l in ls.iter_mut().filter(|l| **l == d) {
                    *l = u;
                }
            }
        }
    }
    let mut out: String = lines
        .into_iter()
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    if src.ends_with('\n') {
        out.push('\n');
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inlines_a_chain_of_single_use_words() {
        let src = "mstore(0x20, mulmod(mload(0x0), 3, f_q))\n\
                   mstore(0x40, addmod(mload(0x20), 1, f_q))\n\
                   mstore(0x60, mload(0x40))\n\
                   success := and(eq(staticcall(gas(), 0x7, 0x60, 0x20, 0x80, 0x20), 1), success)\n";
        let out = inline_single_use(src);
        assert_eq!(
            out,
            "mstore(0x60, addmod(mulmod(mload(0x0), 3, f_q), 1, f_q))\n\
             success := and(eq(staticcall(gas(), 0x7, 0x60, 0x20, 0x80, 0x20), 1), success)\n"
        );
    }

    #[test]
    fn keeps_words_read_twice_ranged_or_overwritten_inputs() {
        // 0x20 is read twice; 0x40 is a precompile's input; 0x60's input 0x0 is rewritten
        // before 0x60 is read.
        let src = "mstore(0x20, mload(0x0))\n\
                   mstore(0x40, mload(0x20))\n\
                   mstore(0x60, add(mload(0x20), mload(0x0)))\n\
                   mstore(0x0, 5)\n\
                   mstore(0x80, mload(0x60))\n\
                   success := staticcall(gas(), 0x7, 0x40, 0x20, 0xa0, 0x20)\n\
                   return(0x80, 0x20)\n";
        assert_eq!(inline_single_use(src), src);
    }

    #[test]
    fn leaves_code_with_unmodelled_memory_access_alone() {
        let src =
            "mstore(0x20, mload(0x0))\nmstore(0x40, mload(0x20))\nlet x := mload(add(0x40, 0))\n";
        assert_eq!(inline_single_use(src), src);
        let unaligned = "mstore(0x21, 1)\nmstore(0x40, mload(0x21))\nreturn(0x40, 0x20)\n";
        assert_eq!(inline_single_use(unaligned), unaligned);
    }
}
