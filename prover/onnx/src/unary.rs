//! Element-wise functions of one real: each is one [`Unary`] variant with its float definition
//! (the ONNX operator's, in f64), so the importer, the float evaluator, constant folding and the
//! circuit's lookup tables (`trustml::table::Func::Unary`) share one definition. Adding one is a
//! variant, its `eval` arm and its `from_node` arm.

use crate::proto::NodeProto;
use serde::{Deserialize, Serialize};

/// An element-wise function of one real.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Unary {
    /// `|x|`.
    Abs,
    /// `-1`, `0` or `1`.
    Sign,
    /// `ln(1 + e^x)`.
    Softplus,
    /// `x / (1 + |x|)`.
    Softsign,
    /// `x` for `x > 0`, else `alpha · (e^x − 1)`.
    Elu {
        /// Scale of the negative branch.
        alpha: f32,
    },
    /// `gamma · x` for `x > 0`, else `gamma · alpha · (e^x − 1)`.
    Selu {
        /// Scale of the negative branch.
        alpha: f32,
        /// Overall scale.
        gamma: f32,
    },
    /// `max(0, x) + min(0, alpha · (e^(x/alpha) − 1))`.
    Celu {
        /// Scale of the negative branch.
        alpha: f32,
    },
    /// `max(0, min(1, alpha · x + beta))`.
    HardSigmoid {
        /// Slope.
        alpha: f32,
        /// Offset.
        beta: f32,
    },
    /// `x · max(0, min(1, x/6 + 1/2))`.
    HardSwish,
    /// `x · tanh(softplus(x))`.
    Mish,
    /// `ln(x)`; in a circuit a non-positive `x` saturates to the bottom of the lookup domain
    /// (ONNX gives NaN or −∞ there, which no fixed-point value represents).
    Log,
    /// `x` for `x > alpha`, else 0.
    ThresholdedRelu {
        /// The threshold.
        alpha: f32,
    },
    /// `min(max(x, min), max)` with constant bounds.
    Clip {
        /// Lower bound.
        min: f32,
        /// Upper bound.
        max: f32,
    },
    /// `⌊x⌋` (in a circuit: of the fixed-point value, so exact on the grid).
    Floor,
    /// `⌈x⌉`.
    Ceil,
    /// Round half to even (ONNX `Round`).
    Round,
    /// `sin(x)`.
    Sin,
    /// `cos(x)`.
    Cos,
    /// `1` for `x > 0`, else `0`: comparisons (`a > b` is `Positive(a − b)`, exact on the
    /// fixed-point grid).
    Positive,
    /// `1` for `x ≥ 0`, else `0`.
    NonNegative,
    /// `x^e` for a constant exponent; NaN (a circuit: 0) for a negative `x` and a fractional `e`.
    Pow {
        /// The exponent.
        e: f32,
    },
}

fn softplus(x: f64) -> f64 {
    // ln(1 + e^x) without overflow for large x.
    if x > 30.0 {
        x
    } else {
        x.exp().ln_1p()
    }
}

impl Unary {
    /// The function, in f64.
    pub fn eval(self, x: f64) -> f64 {
        match self {
            Unary::Abs => x.abs(),
            Unary::Sign => {
                if x > 0.0 {
                    1.0
                } else if x < 0.0 {
                    -1.0
                } else {
                    0.0
                }
            }
            Unary::Softplus => softplus(x),
            Unary::Softsign => x / (1.0 + x.abs()),
            Unary::Elu { alpha } => {
                if x > 0.0 {
                    x
                } else {
                    alpha as f64 * x.exp_m1()
                }
            }
            Unary::Selu { alpha, gamma } => {
                let g = gamma as f64;
                if x > 0.0 {
                    g * x
                } else {
                    g * alpha as f64 * x.exp_m1()
                }
            }
            Unary::Celu { alpha } => {
                let a = alpha as f64;
                x.max(0.0) + (a * (x / a).exp_m1()).min(0.0)
            }
            Unary::HardSigmoid { alpha, beta } => (alpha as f64 * x + beta as f64).clamp(0.0, 1.0),
            Unary::HardSwish => x * (x / 6.0 + 0.5).clamp(0.0, 1.0),
            Unary::Mish => x * softplus(x).tanh(),
            Unary::Log => {
                if x > 0.0 {
                    x.ln()
                } else {
                    f64::NEG_INFINITY
                }
            }
            Unary::ThresholdedRelu { alpha } => {
                if x > alpha as f64 {
                    x
                } else {
                    0.0
                }
            }
            Unary::Clip { min, max } => x.max(min as f64).min(max as f64),
            Unary::Floor => x.floor(),
            Unary::Ceil => x.ceil(),
            Unary::Round => x.round_ties_even(),
            Unary::Sin => x.sin(),
            Unary::Cos => x.cos(),
            Unary::Positive => f64::from(u8::from(x > 0.0)),
            Unary::NonNegative => f64::from(u8::from(x >= 0.0)),
            Unary::Pow { e } => x.powf(e as f64),
        }
    }

    /// A short display name with parameters, e.g. `Elu(1)`.
    pub fn name(&self) -> String {
        match self {
            Unary::Elu { alpha } | Unary::Celu { alpha } | Unary::ThresholdedRelu { alpha } => {
                let n = format!("{self:?}");
                format!("{}({alpha})", n.split(' ').next().unwrap_or(""))
            }
            Unary::Selu { alpha, gamma } => format!("Selu({alpha}, {gamma})"),
            Unary::HardSigmoid { alpha, beta } => format!("HardSigmoid({alpha}, {beta})"),
            Unary::Clip { min, max } => format!("Clip({min}, {max})"),
            Unary::Pow { e } => format!("Pow({e})"),
            other => format!("{other:?}"),
        }
    }

    /// The function an ONNX node computes, with its attributes' defaults (opset 6+), or `None`
    /// when the op is not one of these. `Clip`'s bounds come from its inputs: see the importer.
    pub fn from_node(n: &NodeProto) -> Option<Self> {
        let f = |name: &str, default: f32| {
            n.attribute
                .iter()
                .find(|a| a.name == name)
                .map(|a| a.f)
                .unwrap_or(default)
        };
        Some(match n.op_type.as_str() {
            "Abs" => Unary::Abs,
            "Sign" => Unary::Sign,
            "Softplus" => Unary::Softplus,
            "Softsign" => Unary::Softsign,
            "Elu" => Unary::Elu {
                alpha: f("alpha", 1.0),
            },
            "Selu" => Unary::Selu {
                alpha: f("alpha", 1.673_263_2),
                gamma: f("gamma", 1.050_701),
            },
            "Celu" => Unary::Celu {
                alpha: f("alpha", 1.0),
            },
            "HardSigmoid" => Unary::HardSigmoid {
                alpha: f("alpha", 0.2),
                beta: f("beta", 0.5),
            },
            "HardSwish" => Unary::HardSwish,
            "Mish" => Unary::Mish,
            "Log" => Unary::Log,
            "ThresholdedRelu" => Unary::ThresholdedRelu {
                alpha: f("alpha", 1.0),
            },
            "Floor" => Unary::Floor,
            "Ceil" => Unary::Ceil,
            "Round" => Unary::Round,
            "Sin" => Unary::Sin,
            "Cos" => Unary::Cos,
            _ => return None,
        })
    }

    /// Every variant once (with default parameters), for tests and the op list.
    pub const ALL: [Unary; 21] = [
        Unary::Abs,
        Unary::Sign,
        Unary::Softplus,
        Unary::Softsign,
        Unary::Elu { alpha: 1.0 },
        Unary::Selu {
            alpha: 1.673_263_2,
            gamma: 1.050_701,
        },
        Unary::Celu { alpha: 1.0 },
        Unary::HardSigmoid {
            alpha: 0.2,
            beta: 0.5,
        },
        Unary::HardSwish,
        Unary::Mish,
        Unary::Log,
        Unary::ThresholdedRelu { alpha: 1.0 },
        Unary::Clip {
            min: -1.0,
            max: 1.0,
        },
        Unary::Floor,
        Unary::Ceil,
        Unary::Round,
        Unary::Sin,
        Unary::Cos,
        Unary::Positive,
        Unary::NonNegative,
        Unary::Pow { e: 0.75 },
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values from the ONNX operator documentation's examples (and closed forms).
    #[test]
    fn matches_the_onnx_definitions() {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-6;
        assert!(close(Unary::Softplus.eval(-1.0), 0.313_261_687_5));
        assert!(close(Unary::Softplus.eval(100.0), 100.0));
        assert!(close(
            Unary::Elu { alpha: 2.0 }.eval(-1.0),
            -1.264_241_117_7
        ));
        assert!(close(
            Unary::Selu {
                alpha: 2.0,
                gamma: 3.0
            }
            .eval(-1.0),
            -3.792_723_353
        ));
        assert!(close(
            Unary::Celu { alpha: 2.0 }.eval(-1.0),
            2.0 * ((-0.5f64).exp() - 1.0)
        ));
        assert!(close(
            Unary::HardSigmoid {
                alpha: 0.5,
                beta: 0.6
            }
            .eval(-1.0),
            0.1
        ));
        assert!(close(Unary::HardSwish.eval(1.0), 1.0 * (1.0 / 6.0 + 0.5)));
        assert!(close(Unary::Mish.eval(1.0), 0.865_098_4));
        assert!(close(Unary::Softsign.eval(-1.0), -0.5));
        assert_eq!(Unary::Round.eval(2.5), 2.0);
        assert_eq!(Unary::Round.eval(-1.5), -2.0);
        assert_eq!(Unary::Floor.eval(-1.5), -2.0);
        assert_eq!(Unary::Ceil.eval(-1.5), -1.0);
        assert_eq!(Unary::Sign.eval(0.0), 0.0);
        assert_eq!(Unary::ThresholdedRelu { alpha: 2.0 }.eval(2.0), 0.0);
        assert_eq!(
            Unary::Clip {
                min: -1.0,
                max: 1.0
            }
            .eval(3.0),
            1.0
        );
        assert_eq!(Unary::Log.eval(0.0), f64::NEG_INFINITY);
        assert_eq!(Unary::Elu { alpha: 0.5 }.name(), "Elu(0.5)");
    }
}
