//! A small dense, row-major tensor: enough for static-shape inference graphs.

use serde::{Deserialize, Serialize};

/// A dense row-major tensor with a static shape. A scalar has an empty shape and one element.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tensor<T> {
    /// Dimensions, outermost first (empty for a scalar).
    pub shape: Vec<usize>,
    /// Elements in row-major order; `data.len()` is the product of `shape`.
    pub data: Vec<T>,
}

impl<T: Clone> Tensor<T> {
    /// Builds a tensor; `data.len()` must equal the product of `shape`.
    pub fn new(shape: Vec<usize>, data: Vec<T>) -> Self {
        assert_eq!(
            shape.iter().product::<usize>(),
            data.len(),
            "tensor data length does not match shape {shape:?}"
        );
        Self { shape, data }
    }

    /// A tensor of `shape` with every element equal to `value`.
    pub fn filled(shape: Vec<usize>, value: T) -> Self {
        let n = shape.iter().product();
        Self {
            shape,
            data: vec![value; n],
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the tensor has no elements (some dimension is 0).
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Number of dimensions.
    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// Row-major strides of `shape`.
    pub fn strides(shape: &[usize]) -> Vec<usize> {
        let mut s = vec![1; shape.len()];
        for i in (0..shape.len().saturating_sub(1)).rev() {
            s[i] = s[i + 1] * shape[i + 1];
        }
        s
    }

    /// Applies `f` to every element, keeping the shape.
    pub fn map<U: Clone>(&self, f: impl FnMut(&T) -> U) -> Tensor<U> {
        Tensor {
            shape: self.shape.clone(),
            data: self.data.iter().map(f).collect(),
        }
    }

    /// Same data, another shape of the same size.
    pub fn reshaped(&self, shape: Vec<usize>) -> Self {
        Tensor::new(shape, self.data.clone())
    }
}

/// The numpy broadcast of two shapes, or `None` when they are incompatible.
pub fn broadcast_shape(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i + a.len() >= n {
            a[i + a.len() - n]
        } else {
            1
        };
        let db = if i + b.len() >= n {
            b[i + b.len() - n]
        } else {
            1
        };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

/// For each flat index of `out_shape`, the flat index of the element of a tensor of
/// shape `src` that numpy broadcasting reads there.
pub fn broadcast_index_map(src: &[usize], out_shape: &[usize]) -> Vec<usize> {
    let n = out_shape.len();
    // Leading size-1 axes of a higher-rank source do not change the mapping.
    let src = &src[src.len().saturating_sub(n)..];
    let off = n - src.len();
    let src_strides = Tensor::<u8>::strides(src);
    let total: usize = out_shape.iter().product();
    let mut map = Vec::with_capacity(total);
    let mut idx = vec![0usize; n];
    for _ in 0..total {
        let mut flat = 0;
        for d in 0..src.len() {
            if src[d] != 1 {
                flat += idx[d + off] * src_strides[d];
            }
        }
        map.push(flat);
        for d in (0..n).rev() {
            idx[d] += 1;
            if idx[d] < out_shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    map
}
