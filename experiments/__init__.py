"""Studies built on the zoo: each asks a question of its models and answers it with numbers.

They import `zoo` and never the other way round; the library keeps only the reusable
measurements (`zoo.analysis`). Run them from the repository root.

Each study's module docstring says what it asks and how to run it; for example
`long_range`: how far back can each model remember? (`python -m experiments.long_range`).
"""
