"""Tasks, the unit of zoo's services: one module per product.

| model task | product | module |
|---|---|---|
| `seq2seq` | translate | `zoo.tasks.translate` |
| `lm` | generate | `zoo.tasks.generate` |
| `classify` | classify | `zoo.tasks.classify` |
| `mlm` | fill_mask | `zoo.tasks.fill_mask` |

Each supplies its text -> `tf.data` pipeline, its compile defaults, its in-process
prediction on text and its export signatures; `get_task(model)` finds a model's task, and
`zoo.export(model, tokenizer, directory, ...)` is `get_task(model).export(...)`.
Importing this package needs TensorFlow (the pipelines and exports are TensorFlow's).
"""

from zoo.tasks import classify, fill_mask, generate, translate  # noqa: F401  (registers the tasks)
from zoo.tasks.base import Task, get_task, list_task_products, register_task

__all__ = ["Task", "get_task", "list_task_products", "register_task"]
