"""How the pipelines' functions become tf.data graphs."""
import tensorflow as tf


def plain_graph(fn):
    """`fn` for Dataset.map / filter / interleave, traced as written, without AutoGraph.

    The pipelines branch with tf.cond and Python values only, so AutoGraph's source
    rewriting (about 1.5 s of every train.py or evaluate.py start) buys nothing.
    """
    return tf.autograph.experimental.do_not_convert(fn)
