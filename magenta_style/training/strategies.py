"""tf.distribute strategies by name, and who is the chief."""
import tensorflow as tf

from magenta_style.errors import UsageError


def make_strategy(name="default", tpu=""):
    """'default' | 'mirrored' (all GPUs, else all logical CPUs) | 'multi_worker' (TF_CONFIG) | 'tpu'."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = [d.name for d in tf.config.list_logical_devices("GPU")] or \
            [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        try:
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
            tf.config.experimental_connect_to_cluster(resolver)
            tf.tpu.experimental.initialize_tpu_system(resolver)
        except (ValueError, tf.errors.OpError) as error:
            message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise UsageError(f"--strategy=tpu: no TPU found ({message})") from None
        return tf.distribute.TPUStrategy(resolver)
    raise UsageError(f"unknown strategy {name!r}")


def is_chief(strategy):
    """True where checkpoints and summaries are written (task 'chief', or worker 0 without one)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type or isinstance(
            resolver, tf.distribute.cluster_resolver.TPUClusterResolver):
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "chief" or (not has_chief and resolver.task_type == "worker"
                                             and resolver.task_id == 0)


def num_workers(strategy):
    """Machines taking part: chief + workers of the cluster (1 without a cluster)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None:
        return 1
    spec = resolver.cluster_spec().as_dict()
    return max(1, len(spec.get("chief", [])) + len(spec.get("worker", [])))
