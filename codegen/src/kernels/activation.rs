//! Activations that kernels apply to their results before storing them (fused activations).

/// An activation applied to each result of a kernel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    None,
    Relu,
    /// Clamp to `[min, max]` (ReLU6 is `Clip(0.0, 6.0)`).
    Clip(f32, f32),
    /// `x` if `x >= 0`, else `alpha * x`.
    LeakyRelu(f32),
}

impl Activation {
    #[inline(always)]
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Activation::None => x,
            Activation::Relu => x.max(0.0),
            Activation::Clip(min, max) => x.max(min).min(max),
            Activation::LeakyRelu(alpha) => {
                if x < 0.0 {
                    alpha * x
                } else {
                    x
                }
            }
        }
    }

    /// Applies the activation to every element of `y`.
    #[inline(always)]
    pub fn apply_all(self, y: &mut [f32]) {
        if self != Activation::None {
            for v in y.iter_mut() {
                *v = self.apply(*v);
            }
        }
    }
}
