"""Other ecosystems' APIs over mbo's tasks: :mod:`mbo.compat.design_bench` speaks Design-Bench."""
