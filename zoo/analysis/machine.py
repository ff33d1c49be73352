"""What a measurement ran on, written next to it: CPU model, cores, accelerators, versions."""

from __future__ import annotations

import os
import platform
import sys

import keras
import numpy as np


def cpu_model_name() -> str:
    """The CPU's model name as `lscpu` shows it (from /proc/cpuinfo), else `platform`'s."""
    try:
        with open("/proc/cpuinfo") as file:
            for line in file:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def accelerators() -> list[str]:
    """GPUs and TPUs the active Keras backend sees (empty on a CPU-only machine)."""
    backend = keras.backend.backend()
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            return [d.name for d in tf.config.list_physical_devices() if d.device_type != "CPU"]
        if backend == "jax":
            import jax

            return [str(d) for d in jax.devices() if d.platform != "cpu"]
        if backend == "torch":
            import torch

            count = torch.cuda.device_count()
            return [torch.cuda.get_device_name(i) for i in range(count)]
    except Exception as error:  # a report must not fail because a device query did
        return [f"unknown ({type(error).__name__})"]
    return []


def describe_machine() -> dict:
    """A JSON-ready description: CPU, logical cores, accelerators, backend and versions."""
    backend = keras.backend.backend()
    versions = {
        "python": sys.version.split()[0],
        "keras": keras.__version__,
        "numpy": np.__version__,
    }
    library = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}.get(backend)
    if library is not None:
        versions[library] = __import__(library).__version__
    return {
        "cpu": cpu_model_name(),
        "logical_cores": os.cpu_count(),
        "accelerators": accelerators(),
        "keras_backend": backend,
        "versions": versions,
    }


def machine_line(machine: dict) -> str:
    """One line for a report: `AMD EPYC, 2 cores, no GPU; tensorflow 2.21.0, keras 3.15.1`."""
    devices = ", ".join(machine["accelerators"]) or "no GPU"
    backend = machine["keras_backend"]
    version = machine["versions"].get(backend, "?")
    return (
        f"{machine['cpu']}, {machine['logical_cores']} cores, {devices}; "
        f"{backend} {version}, keras {machine['versions']['keras']}"
    )
