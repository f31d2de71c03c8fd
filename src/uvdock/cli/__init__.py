"""The command line: parse arguments, call the library, print the result.

Nothing imports this package; it is the top of the import graph.
"""
