"""Command groups of the ``sangjog`` CLI, one module each. ``cli.py`` registers them all."""
