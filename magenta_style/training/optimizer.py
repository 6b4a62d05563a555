"""The training optimizer: Adam as TF1's AdamOptimizer ran it, in one fused kernel per variable."""
import keras
import tensorflow as tf

from magenta_style import defaults


class FusedAdam(keras.optimizers.Adam):
    """keras.optimizers.Adam whose per-variable update is TF's ResourceApplyAdam kernel.

    The kernel TF1's AdamOptimizer (Magenta's) calls, computing Keras' update
    (m, v, var -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)) in one op instead
    of about twenty: the mobile train step's graph loses ~5,500 of its ~18,000 ops and reaches
    the end of its first call ~26 % sooner (BENCHMARKS.md). Same variables and checkpoints
    as Adam.
    """

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad:
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        index = self._get_variable_index(variable)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        # .value: under a tf.distribute update() the handle is this replica's copy.
        return tf.raw_ops.ResourceApplyAdam(
            var=variable.handle, m=self._momentums[index].value.handle,
            v=self._velocities[index].value.handle, beta1_power=tf.pow(beta_1, step),
            beta2_power=tf.pow(beta_2, step), lr=tf.cast(learning_rate, dtype), beta1=beta_1,
            beta2=beta_2, epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(tf.convert_to_tensor(gradient), dtype))


def make_optimizer(learning_rate=defaults.LEARNING_RATE, mixed_precision=False,
                   epsilon=defaults.ADAM_EPSILON, adam=FusedAdam):
    """Adam (beta1 0.9, beta2 0.999, epsilon 1e-8 as TF1's AdamOptimizer that Magenta trained
    with); in a dynamic LossScaleOptimizer if mixed_precision.

    mixed_precision: loss scaling, wanted for float16 only (TrainConfig.loss_scaling); the
      dynamic scale starts at defaults.INITIAL_LOSS_SCALE.
    adam: the Adam class (keras.optimizers.Adam is benchmarks/optimizer.py's peer).
    """
    optimizer = adam(learning_rate, beta_1=defaults.ADAM_BETA_1, beta_2=defaults.ADAM_BETA_2,
                     epsilon=epsilon)
    if mixed_precision:
        optimizer = keras.optimizers.LossScaleOptimizer(
            optimizer, initial_scale=defaults.INITIAL_LOSS_SCALE)
    return optimizer
