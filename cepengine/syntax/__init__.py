"""Rule text → AST: the grammar's parser and the one transformer."""
