//! Text prompts: a model's character vocabulary, and greedy decoding by a compiled text
//! model (compiled with [`TextSpec`]; the statement is [`trustml_onnx::greedy`]).
//!
//! A text model's one input is `prompt ‖ completion` as token ids (id `t` is the value
//! `t·2^s`, exact), and its one output is the completion: the circuit proves that each
//! completion token is the model's argmax after the tokens before it. A listing of such a
//! model commits the whole input (`C`), so the delivery hands the buyer the prompt's ids.

use crate::program::{Program, ProgramError};
use serde::{Deserialize, Serialize};
use std::path::Path;
use thiserror::Error;

/// What makes a compiled language model a text model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextSpec {
    /// Tokens of the hidden prompt.
    pub prompt_len: usize,
    /// Tokens of the public completion (context − prompt).
    pub completion_len: usize,
    /// The token of each id: one character each.
    pub vocab: Vec<String>,
}

/// An error encoding or decoding text.
#[derive(Debug, Error)]
pub enum TextError {
    /// A vocabulary file that is not a list of distinct single characters.
    #[error("{path}: {msg}")]
    Vocab {
        /// The file.
        path: String,
        /// What is wrong.
        msg: String,
    },
    /// A prompt the model cannot read.
    #[error("{0}")]
    Prompt(String),
    /// A token id outside the vocabulary (a wrong key or model when decrypting).
    #[error("token {0} is not an id of this model's vocabulary (0 to {1})")]
    Id(i128, usize),
    /// A model that is not a causal language model.
    #[error(transparent)]
    Model(#[from] trustml_onnx::OnnxError),
    /// A vocabulary that does not fit the model, or a prompt length that leaves no room.
    #[error("{0}")]
    Shape(String),
    /// Greedy decoding stopped at a layer that has no witness.
    #[error("decoding the completion: {0}")]
    Decode(#[from] ProgramError),
}

impl TextSpec {
    /// The spec of the causal LM in `onnx` (token ids `[1, T]` → logits `[1, T, V]`) for
    /// prompts of `prompt_len` tokens, checking that `vocab` has `V` characters.
    pub fn for_onnx(onnx: &[u8], prompt_len: usize, vocab: Vec<String>) -> Result<Self, TextError> {
        let shape = trustml_onnx::greedy::lm_shape(onnx)?;
        Self::check_vocab(&vocab).map_err(TextError::Shape)?;
        if vocab.len() != shape.vocab {
            return Err(TextError::Shape(format!(
                "the vocabulary has {} characters, the model's logits {}",
                vocab.len(),
                shape.vocab
            )));
        }
        if prompt_len == 0 || prompt_len >= shape.context {
            return Err(TextError::Shape(format!(
                "a prompt of {prompt_len} tokens leaves no completion in the model's context of \
                 {}; choose 1 to {}",
                shape.context,
                shape.context - 1
            )));
        }
        Ok(Self {
            prompt_len,
            completion_len: shape.context - prompt_len,
            vocab,
        })
    }

    /// Checks a vocabulary: distinct entries of one character each.
    pub fn check_vocab(vocab: &[String]) -> Result<(), String> {
        let mut seen = std::collections::HashSet::new();
        for (i, t) in vocab.iter().enumerate() {
            if t.chars().count() != 1 {
                return Err(format!(
                    "entry {i} ({t:?}) is not one character; text models here read characters"
                ));
            }
            if !seen.insert(t) {
                return Err(format!("entry {i} ({t:?}) appears twice"));
            }
        }
        Ok(())
    }

    /// Reads a vocabulary file: a JSON list of the characters, in id order.
    pub fn read_vocab(path: &Path) -> Result<Vec<String>, TextError> {
        let bad = |msg: String| TextError::Vocab {
            path: path.display().to_string(),
            msg,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let vocab: Vec<String> = serde_json::from_str(&text).map_err(|e| {
            bad(format!(
                "{e}; a vocabulary is a JSON list of characters in id order"
            ))
        })?;
        Self::check_vocab(&vocab).map_err(bad)?;
        Ok(vocab)
    }

    /// The prompt's token ids. A shorter prompt is padded on the left with spaces (when
    /// the vocabulary has one); a character outside the vocabulary is refused by name.
    pub fn encode(&self, prompt: &str) -> Result<Vec<usize>, TextError> {
        let chars: Vec<char> = prompt.chars().collect();
        let n = self.prompt_len;
        if chars.len() > n {
            return Err(TextError::Prompt(format!(
                "the prompt has {} characters; this model takes {n}",
                chars.len()
            )));
        }
        let id = |c: char| self.vocab.iter().position(|t| t.starts_with(c));
        let pad = n - chars.len();
        let space = match (pad, id(' ')) {
            (0, _) => 0,
            (_, Some(s)) => s,
            (_, None) => {
                return Err(TextError::Prompt(format!(
                    "the prompt has {} characters; this model takes exactly {n}",
                    chars.len()
                )))
            }
        };
        let mut ids = vec![space; pad];
        for (i, &c) in chars.iter().enumerate() {
            ids.push(id(c).ok_or_else(|| {
                TextError::Prompt(format!(
                    "character {c:?} at position {i} is not in the model's vocabulary: {}",
                    self.vocab.concat().escape_debug()
                ))
            })?);
        }
        Ok(ids)
    }

    /// Token ids given as numbers (an input file's values), each an id of the vocabulary.
    pub fn prompt_ids(&self, values: &[f32]) -> Result<Vec<usize>, TextError> {
        values
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                if v.fract() != 0.0 || v < 0.0 || v as usize >= self.vocab.len() {
                    return Err(TextError::Prompt(format!(
                        "prompt value {i} is {v}, not a token id (0 to {})",
                        self.vocab.len() - 1
                    )));
                }
                Ok(v as usize)
            })
            .collect()
    }

    /// The text of token ids.
    pub fn decode(&self, ids: &[i128]) -> Result<String, TextError> {
        ids.iter()
            .map(|&i| {
                usize::try_from(i)
                    .ok()
                    .and_then(|u| self.vocab.get(u))
                    .cloned()
                    .ok_or(TextError::Id(i, self.vocab.len() - 1))
            })
            .collect()
    }

    /// log2 of the number of prompts: `prompt_len · log2(|vocab|)`.
    pub fn prompt_bits(&self) -> f64 {
        self.prompt_len as f64 * (self.vocab.len() as f64).log2()
    }

    /// The ids of the program's input values (`t·2^s`), refusing any that is not one.
    pub fn ids_of(&self, values: &[i128], scale_bits: u32) -> Result<Vec<i128>, TextError> {
        values
            .iter()
            .map(|&v| {
                let id = v >> scale_bits;
                if id << scale_bits != v || id < 0 || id as usize >= self.vocab.len() {
                    return Err(TextError::Id(v, self.vocab.len() - 1));
                }
                Ok(id)
            })
            .collect()
    }
}

/// The model's greedy completion of `prompt` (ids), computed with the quantized `program`
/// (the circuit's own arithmetic, so the check accepts it): the input `prompt ‖ completion`
/// as quantized values, ready to prove.
pub fn complete(
    program: &Program,
    spec: &TextSpec,
    prompt: &[usize],
) -> Result<Vec<i64>, TextError> {
    let s = program.qp.scale_bits;
    let mut tokens: Vec<i64> = prompt.iter().map(|&t| (t as i64) << s).collect();
    tokens.resize(spec.prompt_len + spec.completion_len, 0);
    let out = &program.outputs[0].1;
    for j in 0..spec.completion_len {
        let (w, stopped) = program.eval_lenient(std::slice::from_ref(&tokens))?;
        match stopped {
            // Later guesses are still placeholders: the check refuses them.
            Some(ProgramError::OutOfRange { ref node, .. })
                if node == trustml_onnx::greedy::CHECK_NODE => {}
            Some(e) => return Err(e.into()),
            None => {}
        }
        let id = spec.ids_of(&[w[out[j] as usize]], s)?[0];
        tokens[spec.prompt_len + j] = (id as i64) << s;
    }
    program.eval(std::slice::from_ref(&tokens))?;
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> TextSpec {
        TextSpec {
            prompt_len: 4,
            completion_len: 2,
            vocab: [" ", "a", "b"].map(String::from).to_vec(),
        }
    }

    #[test]
    fn encodes_pads_and_refuses() {
        let s = spec();
        assert_eq!(s.encode("abba").unwrap(), vec![1, 2, 2, 1]);
        assert_eq!(s.encode("ab").unwrap(), vec![0, 0, 1, 2]);
        let e = s.encode("abc").unwrap_err().to_string();
        assert!(e.contains("'c' at position 2"), "{e}");
        assert!(s
            .encode("aaaaa")
            .unwrap_err()
            .to_string()
            .contains("takes 4"));
        assert_eq!(s.decode(&[1, 0, 2]).unwrap(), "a b");
        assert!(s.decode(&[3]).is_err());
        assert_eq!(s.ids_of(&[64, 128], 6).unwrap(), vec![1, 2]);
        assert!(s.ids_of(&[65], 6).is_err(), "a fractional id");
        assert!(s.ids_of(&[192], 6).is_err(), "outside the vocabulary");
        assert!(TextSpec::check_vocab(&["ab".into()]).is_err());
        assert!(TextSpec::check_vocab(&["a".into(), "a".into()]).is_err());
    }
}
