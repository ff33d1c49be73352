"""Tasks, the unit of zoo's services: one module per product.

| model task | product | module |
|---|---|---|
| `seq2seq` | translate | `zoo.tasks.translate` |
| `lm` | generate | `zoo.tasks.generate` |
| `classify` | classify | `zoo.tasks.classify` |
| `mlm` | fill_mask | `zoo.tasks.fill_mask` |

Each supplies its text -> `tf.data` pipeline, its compile defaults, its in-process
prediction on text and its export signatures; `get_task(model)` finds a model's task, and
`zoo.export_model(model, tokenizer, directory, ...)` is `get_task(model).export(...)`.
The built-in tasks are imported (and registered) when a task is first looked up: most need
TensorFlow, and `zoo.tasks.translate` is also used without it (training on JAX where there is
no TensorFlow, `recipes.translate`).
"""

from zoo.tasks.base import Task, export_model, get_task, list_task_products, register_task

__all__ = ["Task", "export_model", "get_task", "list_task_products", "register_task"]
