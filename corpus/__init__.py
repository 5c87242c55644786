"""The bundled seed corpus (installed as ``newsbot_corpus``): the default corpus."""
