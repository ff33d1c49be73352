"""`python -m recipes.export RUN_OR_PRESET [--out] [--version]`: the old name of `zoo export`,
kept as an alias (the library code is `zoo.runs.export`)."""

import os
import sys

if __name__ == "__main__":
    os.environ["KERAS_BACKEND"] = "tensorflow"  # the export needs TensorFlow's backend
    from zoo.cli import main

    sys.exit(main(["export", *sys.argv[1:]]))
