"""Translation batches without TensorFlow: a `keras.utils.PyDataset` of numpy arrays.

The same batches as `make_translation_dataset` (the `tf.data` pipeline) — teacher forcing,
bucketed by length, padded with 0 to the bucket's boundary, as many sentences per batch as
the bucket's share of `tokens_per_batch` — for backends that train without TensorFlow
(JAX on the GPU machine, which has no TensorFlow). The pairs are tokenized once, up front;
each epoch shuffles the sentences within their buckets and the order of the batches, by seed.

On JAX every new batch shape compiles the training step again; `drop_remainder=True` drops
each bucket's last, smaller batch, so that a bucket is one shape.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from zoo.data.buckets import TokenizerLike, translation_buckets, translation_ids


class TranslationBatches(keras.utils.PyDataset):
    """`({"encoder_token_ids", "decoder_token_ids"}, target_ids)` batches, int32 (B, L).

    Args: as `zoo.data.make_translation_dataset`.

    Example:

    ```python
    batches = TranslationBatches(pairs, tokenizer, batch_size=None, tokens_per_batch=4096)
    model.fit(batches, epochs=10, shuffle=False)  # the batches shuffle themselves
    ```
    """

    def __init__(
        self,
        pairs: Sequence[tuple[str, str]],
        tokenizer: TokenizerLike,
        *,
        target_tokenizer: TokenizerLike | None = None,
        batch_size: int | None = 64,
        tokens_per_batch: int | None = None,
        max_length: int = 64,
        bucket_boundaries: Sequence[int] | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_remainder: bool = False,
    ) -> None:
        super().__init__(workers=1, use_multiprocessing=False)
        self.boundaries, sizes = translation_buckets(
            pairs,
            tokenizer,
            target_tokenizer,
            batch_size=batch_size,
            tokens_per_batch=tokens_per_batch,
            max_length=max_length,
            bucket_boundaries=bucket_boundaries,
        )
        target_tokenizer = target_tokenizer or tokenizer
        self.start_id, self.end_id = target_tokenizer.start_id, target_tokenizer.end_id
        self.pad_ids = (tokenizer.pad_id, target_tokenizer.pad_id)
        self.sources, self.targets = translation_ids(pairs, tokenizer, target_tokenizer, max_length)
        # A pair's length: its source, or its target with the start (or end) id.
        lengths = np.array(
            [max(len(s), len(t) + 1) for s, t in zip(self.sources, self.targets)], np.int64
        )
        bucket_of = np.searchsorted(np.asarray(self.boundaries), lengths, side="left")
        self.buckets = [np.flatnonzero(bucket_of == b) for b in range(len(self.boundaries))]
        self.sizes = sizes[: len(self.boundaries)]
        self.shuffle, self.seed, self.drop_remainder = shuffle, seed, drop_remainder
        self.epoch = 0
        self.batches = self._plan()
        if not self.batches:
            raise ValueError(
                f"No batch can be made: {len(pairs)} pairs, batches of {self.sizes} sentences "
                "per bucket and drop_remainder=True. Pass more pairs or smaller batches."
            )

    def _plan(self) -> list[tuple[int, np.ndarray]]:
        """`(bucket, indices)` of every batch of the coming epoch."""
        rng = np.random.default_rng([self.seed, self.epoch]) if self.shuffle else None
        batches = []
        for bucket, (indices, size) in enumerate(zip(self.buckets, self.sizes)):
            if rng is not None:
                indices = rng.permutation(indices)
            for start in range(0, len(indices), size):
                chosen = indices[start : start + size]
                if len(chosen) == size or not self.drop_remainder:
                    batches.append((bucket, chosen))
        if rng is not None:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return batches

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, index: int):
        bucket, chosen = self.batches[index]
        width = self.boundaries[bucket]
        source_pad, target_pad = self.pad_ids
        encoder = np.full((len(chosen), width), source_pad, np.int32)
        decoder = np.full((len(chosen), width), target_pad, np.int32)
        target = np.full((len(chosen), width), target_pad, np.int32)
        for row, i in enumerate(chosen):
            source, ids = self.sources[i], self.targets[i]
            encoder[row, : len(source)] = source
            decoder[row, : len(ids) + 1] = [self.start_id, *ids]  # shifted right
            target[row, : len(ids) + 1] = [*ids, self.end_id]
        return {"encoder_token_ids": encoder, "decoder_token_ids": decoder}, target

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self.batches = self._plan()
