"""The front end of the rule language: text → tokens → AST → checked program → evaluator."""
