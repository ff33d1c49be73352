"""The special token ids every zoo tokenizer, model, loss and metric agrees on.

Id 0 is padding everywhere: models derive their padding masks from it, losses and metrics
skip it, and batches are padded with it. Every tokenizer reserves the first four ids as
below (`zoo.data.SubwordTokenizer` trains its vocabulary that way).
"""

PAD_ID = 0  # padding: masked in attention, never counted in a loss or a metric
UNK_ID = 1  # a piece the vocabulary lacks (rare: tokenizers fall back to bytes)
START_ID = 2  # starts every decoder input (and an lm prompt)
END_ID = 3  # ends a sentence; decoding stops after it
MASK_ID = 4  # fill-in-the-blank: a masked token (tokenizers trained with `mask_token=True`)
MASK_TOKEN = "[MASK]"  # its text: typed in a sentence, it tokenizes to MASK_ID
