"""The runtime: facts loading, evaluation, explanations, rendering and the command line."""
