"""HTTP surfaces, one module each; all of them thin shells around the pipeline."""
