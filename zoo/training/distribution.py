"""Training on several devices and several machines, on the engines Keras 3 supports.

One machine, several devices (TensorFlow backend): `distribution_strategy` makes a
`tf.distribute` strategy; build and compile the model under its `scope()` and `fit()`
splits each batch among the devices (`MirroredStrategy`).

Several machines (JAX backend): every process runs the same program;
`initialize_multi_worker` joins it to the others (`jax.distributed`, collectives over TCP:
gloo on CPUs, NCCL on GPUs), `data_parallel` sets `keras.distribution.DataParallel` over
the devices of all processes, and `process_shard` picks the rows of the data that this
process feeds. Each step is then one computation over the global batch, so the weights
stay identical on every process and equal those of a one-process run over the same global
batches, up to the order of float32 sums (tests/training/test_multi_worker.py).

Why not TensorFlow's `MultiWorkerMirroredStrategy`: with Keras 3 its `fit()` fails in the
first step ("Attempt to convert a value (PerReplica:...) with an unsupported type"; tried
with keras 3.15.1 and tensorflow 2.21.0, two workers on 127.0.0.1; keras-team/keras#20585,
open), so zoo does not offer it.
"""

import json
import os

import keras
import numpy as np

STRATEGY_KINDS = ("auto", "default", "mirrored")
# Keras's own variables (read by `keras.distribution.initialize`), one set per process.
COORDINATOR_VARIABLE = "KERAS_DISTRIBUTION_JOB_ADDRESSES"
NUM_PROCESSES_VARIABLE = "KERAS_DISTRIBUTION_NUM_PROCESSES"
PROCESS_ID_VARIABLE = "KERAS_DISTRIBUTION_PROCESS_ID"


def distribution_strategy(kind: str = "auto"):
    """A `tf.distribute` strategy for the devices of this machine.

    On the TensorFlow backend, build and compile the model under
    `strategy.scope()`:
    - `"default"`: TensorFlow's default strategy (one device: a GPU if there
      is one, otherwise the CPU);
    - `"mirrored"`: `tf.distribute.MirroredStrategy` over the local GPUs (or
      the CPU when there is none): each batch is split among them and the
      gradients are summed across them;
    - `"auto"` (default): `"mirrored"` when more than one GPU is visible, else
      `"default"`.

    Under `"mirrored"` a loss averaged over real tokens (as
    `MaskedSparseCategoricalCrossentropy` is) becomes the mean of each device's
    average, not the average over the whole batch: the same when every device's
    share has as many real tokens, a little different with padding
    (tests/training/test_distribution.py measures it).

    Several machines: not with `tf.distribute.MultiWorkerMirroredStrategy`,
    whose `fit()` fails with Keras 3 (see the module's docstring); use the JAX
    backend with `initialize_multi_worker` and `data_parallel`. On the JAX (and
    PyTorch) backend there is no `tf.distribute`: `"auto"` and `"default"`
    return `None`.

    Args:
        kind: one of `"auto"`, `"default"`, `"mirrored"`.

    Returns:
        A `tf.distribute.Strategy`, or `None` on backends other than TensorFlow.

    Example:

    >>> strategy = distribution_strategy()
    >>> with strategy.scope():
    ...     model = zoo.build("transformer")
    ...     model.compile(optimizer="adam", loss=loss)
    """
    if kind not in STRATEGY_KINDS:
        raise ValueError(f"Unknown strategy kind {kind!r}. Choose one of {STRATEGY_KINDS}.")
    if keras.backend.backend() != "tensorflow":
        if kind in ("auto", "default"):
            return None
        raise ValueError(
            f"distribution_strategy(kind={kind!r}) makes a tf.distribute strategy, which needs "
            f"the TensorFlow backend (this is {keras.backend.backend()!r}). On JAX, call "
            "zoo.training.data_parallel() before building the model."
        )
    import tensorflow as tf

    num_gpus = len(tf.config.list_physical_devices("GPU"))
    kind = resolve_strategy_kind(kind, num_gpus, os.environ.get("TF_CONFIG"))
    if kind == "mirrored":
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def resolve_strategy_kind(kind: str, num_gpus: int, tf_config: str | None) -> str:
    """Which strategy `distribution_strategy(kind)` makes, for these devices.

    A `TF_CONFIG` that lists several tasks asks for several machines, which
    `tf.distribute` cannot give Keras 3: that is a `ValueError` that says what
    to use instead. One with a single task (as some platforms set for one
    machine) is ignored.

    Args:
        kind: one of `STRATEGY_KINDS`.
        num_gpus: the number of GPUs this machine sees.
        tf_config: the `TF_CONFIG` environment variable, or `None` when unset.

    Returns:
        `"default"` or `"mirrored"`.
    """
    if kind not in STRATEGY_KINDS:
        raise ValueError(f"Unknown strategy kind {kind!r}. Choose one of {STRATEGY_KINDS}.")
    if tf_config:
        try:
            cluster = json.loads(tf_config).get("cluster", {})
        except (json.JSONDecodeError, AttributeError) as error:
            raise ValueError(
                "TF_CONFIG is set but is not JSON (a JSON object); zoo does not use it, unset it. "
                f"({error})"
            ) from None
        num_tasks = sum(len(tasks) for tasks in cluster.values() if isinstance(tasks, list))
        if num_tasks > 1:
            raise ValueError(
                f"TF_CONFIG lists {num_tasks} tasks, but Keras 3's fit() does not work with "
                "tf.distribute.MultiWorkerMirroredStrategy (keras-team/keras#20585). To train "
                "on several machines, use the JAX backend (KERAS_BACKEND=jax) and set "
                f"{COORDINATOR_VARIABLE}, {NUM_PROCESSES_VARIABLE} and {PROCESS_ID_VARIABLE} "
                "on each (zoo.training.initialize_multi_worker); or unset TF_CONFIG."
            )
    if kind != "auto":
        return kind
    if num_gpus > 1:
        return "mirrored"
    return "default"


def even_batches(dataset, num_replicas: int):
    """`dataset` with every batch cut to a multiple of `num_replicas` rows, for
    `tf.distribute.MirroredStrategy`.

    Under a strategy of several devices Keras 3's `fit()` splits each batch among them, and
    a batch that does not split evenly either fails (the first one: "Inputs to operation
    AddN must have the same size and shape") or is weighted wrongly. Token-bucketed batches
    (85 sentences of 48 tokens, 341 of 12) rarely split: each batch drops its last
    `len % num_replicas` rows (fewer than `num_replicas`, in the order the pipeline made
    them), and a batch left empty is dropped. With one replica the dataset is returned as is.

    Args:
        dataset: a `tf.data.Dataset` of batches (tensors, ragged tensors, or nests of them
            — dicts, tuples — whose first dimension is the batch).
        num_replicas: the strategy's `num_replicas_in_sync`.

    Returns:
        The dataset of even batches.

    Example:

    >>> with strategy.scope():
    ...     model = zoo.build("transformer")
    >>> model.fit(even_batches(train, strategy.num_replicas_in_sync))
    """
    if isinstance(num_replicas, bool) or not isinstance(num_replicas, int) or num_replicas < 1:
        raise ValueError(f"`num_replicas` must be a positive int. Received: {num_replicas!r}")
    if num_replicas == 1:
        return dataset
    import tensorflow as tf

    def rows(batch):
        first = tf.nest.flatten(batch)[0]
        return first.nrows() if isinstance(first, tf.RaggedTensor) else tf.shape(first)[0]

    def trim(*batch):
        keep = rows(batch) // num_replicas * num_replicas
        trimmed = tf.nest.map_structure(lambda tensor: tensor[:keep], batch)
        return trimmed if len(trimmed) > 1 else trimmed[0]

    def not_empty(*batch):
        return rows(batch) > 0

    return dataset.map(trim, num_parallel_calls=tf.data.AUTOTUNE).filter(not_empty)


def initialize_multi_worker(
    coordinator_address: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
) -> tuple[int, int]:
    """Joins this process to the others of a multi-machine run (JAX backend).

    Call it at the start of the program on every machine (one process per
    machine, or per GPU), before anything runs on JAX. Each argument left out
    is read from Keras's environment variables:
    - `KERAS_DISTRIBUTION_JOB_ADDRESSES`: `host:port` of process 0, the
      coordinator (the same on every machine; a comma-separated list of every
      process's address also works, Keras takes the first);
    - `KERAS_DISTRIBUTION_NUM_PROCESSES`: how many processes in all;
    - `KERAS_DISTRIBUTION_PROCESS_ID`: this process, from 0 to
      `num_processes - 1`.

    It calls `keras.distribution.initialize` (that is,
    `jax.distributed.initialize`, which waits for every process to join);
    afterwards `keras.distribution.list_devices()` lists the devices of all
    processes. On CPUs JAX's collectives are gloo's, over TCP.

    Args:
        coordinator_address: `"host:port"` of process 0.
        num_processes: int, at least 1.
        process_id: int in `[0, num_processes)`.

    Returns:
        `(process_id, num_processes)`.

    Example: on each of two machines, with `PROCESS_ID` 0 on the first and 1
    on the second,

    ```python
    # KERAS_BACKEND=jax KERAS_DISTRIBUTION_JOB_ADDRESSES=10.0.0.1:1234
    # KERAS_DISTRIBUTION_NUM_PROCESSES=2 KERAS_DISTRIBUTION_PROCESS_ID=$PROCESS_ID
    process_id, num_processes = initialize_multi_worker()
    data_parallel()
    model = zoo.build("transformer", task="lm")
    model.compile(...)
    inputs, labels = process_shard((inputs, labels), global_batch_size=64)
    model.fit(inputs, labels, batch_size=64 // num_processes, shuffle=False)
    ```
    """
    coordinator_address = coordinator_address or os.environ.get(COORDINATOR_VARIABLE)
    num_processes = _int_setting(num_processes, NUM_PROCESSES_VARIABLE)
    process_id = _int_setting(process_id, PROCESS_ID_VARIABLE)
    if not coordinator_address or num_processes is None or process_id is None:
        raise ValueError(
            "A multi-machine run needs the coordinator's address, the number of processes "
            f"and this process's id: pass them, or set {COORDINATOR_VARIABLE} (host:port of "
            f"process 0), {NUM_PROCESSES_VARIABLE} and {PROCESS_ID_VARIABLE}. Received: "
            f"coordinator_address={coordinator_address!r}, num_processes={num_processes!r}, "
            f"process_id={process_id!r}."
        )
    if num_processes < 1 or not 0 <= process_id < num_processes:
        raise ValueError(
            f"The process id must be in [0, num_processes); received process_id={process_id} "
            f"with num_processes={num_processes}."
        )
    if keras.backend.backend() != "jax":
        raise ValueError(
            "Training on several machines uses the JAX backend (jax.distributed); this is "
            f"{keras.backend.backend()!r}. Set KERAS_BACKEND=jax before Python starts."
        )
    keras.distribution.initialize(coordinator_address, num_processes, process_id)
    return process_id, num_processes


def data_parallel(auto_shard_dataset: bool = False):
    """Sets `keras.distribution.DataParallel` over every device of every process
    (JAX backend) and returns it; call it before building the model.

    Each variable is replicated on every device and each global batch is split among them
    along its first axis; a step is one computation over the global batch (XLA adds the
    devices' partial sums), so `fit()` follows the loss of the global batch, as on one
    device.

    Args:
        auto_shard_dataset: bool. `False` (the default): each process feeds its own rows
            of each global batch, as NumPy arrays or any dataset (`process_shard`), with
            `batch_size` the global batch size over the number of processes. `True`: every
            process passes the same whole `tf.data.Dataset` of global batches and Keras
            shards it.
    """
    if keras.backend.backend() != "jax":
        raise ValueError(
            "data_parallel() sets keras.distribution, which zoo uses on the JAX backend; this "
            f"is {keras.backend.backend()!r}. On TensorFlow, use "
            'distribution_strategy("mirrored") (recipes: --strategy mirrored).'
        )
    distribution = keras.distribution.DataParallel(auto_shard_dataset=auto_shard_dataset)
    keras.distribution.set_distribution(distribution)
    return distribution


def process_shard(data, global_batch_size: int, process_id=None, num_processes=None):
    """This process's rows of `data`, for `fit(..., batch_size=global_batch_size //
    num_processes, shuffle=False)` under `data_parallel`.

    Row `r` of global batch `b` (rows `b * global_batch_size + r` of `data`) goes to
    process `r // (global_batch_size // num_processes)`, so that the processes' batches
    put side by side are exactly the global batches a one-process run would read. The
    rows after the last full global batch are dropped (an unequal last batch could not be
    split evenly). Shuffle `data` the same way on every process before, by seed.

    Args:
        data: a NumPy array, or a tuple, list or dict of arrays with as many rows each.
        global_batch_size: int. Rows per step over all processes; a multiple of
            `num_processes`.
        process_id: this process; `jax.process_index()` by default.
        num_processes: the number of processes; `jax.process_count()` by default.

    Returns:
        The same structure, each array cut to this process's rows.

    Example:

    >>> process_shard(np.arange(10), 4, process_id=1, num_processes=2)
    array([2, 3, 6, 7])
    """
    if process_id is None or num_processes is None:
        import jax

        process_id = jax.process_index() if process_id is None else process_id
        num_processes = jax.process_count() if num_processes is None else num_processes
    if global_batch_size < 1 or global_batch_size % num_processes:
        raise ValueError(
            f"`global_batch_size` must be a positive multiple of the number of processes "
            f"({num_processes}); received {global_batch_size}."
        )
    if isinstance(data, dict):
        leaves = list(data.values())
    elif isinstance(data, (tuple, list)):
        leaves = list(data)
    else:
        leaves = [data]
    num_rows = {len(leaf) for leaf in leaves}
    if len(num_rows) != 1:
        raise ValueError(f"Every array of `data` must have as many rows; received {num_rows}.")
    num_batches = num_rows.pop() // global_batch_size
    local_batch_size = global_batch_size // num_processes
    rows = (
        np.arange(num_batches)[:, None] * global_batch_size
        + process_id * local_batch_size
        + np.arange(local_batch_size)[None, :]
    ).reshape(-1)  # (num_batches * local_batch_size,)

    def cut(array):
        return np.asarray(array)[rows]

    if isinstance(data, dict):
        return {key: cut(value) for key, value in data.items()}
    if isinstance(data, (tuple, list)):
        return type(data)(cut(value) for value in data)
    return cut(data)


def _int_setting(value, variable):
    if value is not None:
        return value
    text = os.environ.get(variable)
    if text is None or text.strip() == "":
        return None
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{variable} must be an integer; received {text!r}.") from None
