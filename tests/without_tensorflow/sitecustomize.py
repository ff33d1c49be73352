"""On `PYTHONPATH`, makes this Python behave as the GPU machine does: no TensorFlow,
tensorflow-text, keras-nlp or keras-hub. `None` in `sys.modules` makes `import tensorflow`
raise `ModuleNotFoundError` and `importlib.util.find_spec("tensorflow")` answer `None`, as if
they were not installed, so that tests run zoo's JAX route exactly as it runs there."""

import sys

MISSING = ("tensorflow", "tensorflow_text", "keras_nlp", "keras_hub", "tf_keras")

for _name in MISSING:
    sys.modules[_name] = None
