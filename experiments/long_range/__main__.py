"""`python -m experiments.long_range`: the study's command (`command.py`)."""

from experiments.long_range.command import main
from zoo.runs import run_main

run_main(main)
