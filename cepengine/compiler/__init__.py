"""AST → automata and window plans, with predicates compiled to Python."""
