"""Training recipes: `python -m recipes.translate`, `char_lm`, `fill_mask`, `classify`.

Importing the package imports Keras (and with it TensorFlow) with TensorFlow's start-up
notices dropped (`zoo.quiet`), before a recipe's own imports.
"""

from zoo.quiet import quiet_start_up

with quiet_start_up():
    import keras  # noqa: F401
