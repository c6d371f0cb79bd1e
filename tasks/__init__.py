"""Task families: closed-form functions (``synthetic``) and Design-Bench (``design_bench``)."""
