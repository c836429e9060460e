"""The leaf of the project: the frozen values that travel through the pipeline and the one exception tree.

It imports nothing else of the project; `extractors` and `daemon` both import it, and `extractors` never imports
`daemon`.
"""
