"""Exports over HTTP: TensorFlow Serving's REST API on KServe's model server (`zoo serve`).

`zoo.serving.server.serve(paths, port=...)` serves export folders (`saved_models/NAME`);
`requests` reads and writes TF Serving's JSON bodies, `versions` loads, warms up and swaps
versions, `batching` runs concurrent requests as one call. Importing this package imports
neither TensorFlow nor KServe.
"""
