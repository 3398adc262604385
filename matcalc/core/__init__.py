"""The expression layer: shapes over symbols, immutable matrix-expression nodes, scalar
functions, numbers."""
